//! The document vault against real storage: the local filesystem and an S3-compatible server
//! (moto), with keys in the test's own database.

mod moto;

use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;
use docket_protocol::ids::MatterId;
use docket_server::config::Config;
use docket_server::db::{RequestContext, Tenant};
use docket_server::vault::{self, stream, BlobKey, BlobStore, DataKey, MatterKey, PutError};
use docket_server::Error;
use futures_util::{stream as futures_stream, Stream, StreamExt};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp, TestUser};

const MARKER: &[u8] = b"WITHOUT-PREJUDICE-SETTLEMENT-OFFER";
const MIB: usize = 1024 * 1024;

/// A body of `len` bytes with the marker throughout, and a known byte at every position.
fn document(len: usize) -> Vec<u8> {
    let mut data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    for at in (0..len.saturating_sub(MARKER.len())).step_by(10_000) {
        data[at..at + MARKER.len()].copy_from_slice(MARKER);
    }
    data
}

/// `data` as a network body: uneven pieces.
fn body(data: &[u8]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let pieces: Vec<_> = data
        .chunks(50_001)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_stream::iter(pieces)
}

/// A body that fails after `good` bytes, as when the client goes away mid-upload.
fn interrupted(good: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    body(&document(good)).chain(futures_stream::once(async {
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        ))
    }))
}

async fn collect(
    stream: impl Stream<Item = Result<Bytes, std::io::Error>>,
) -> std::io::Result<Vec<u8>> {
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    while let Some(piece) = stream.next().await {
        out.extend_from_slice(&piece?);
    }
    Ok(out)
}

/// A local store in a fresh directory, and that directory.
fn local_store() -> (BlobStore, PathBuf) {
    let dir = std::env::temp_dir().join(format!("docket-vault-{}", Uuid::new_v4().simple()));
    let mut config = Config::defaults();
    config.blob_store = Some(format!("file://{}", dir.display()));
    (BlobStore::from_config(&config).expect("local store"), dir)
}

async fn key_of(app: &TestApp, user: &TestUser, matter: MatterId) -> Result<MatterKey, Error> {
    let mut tenant = Tenant::begin(
        &app.runtime,
        &app.state.outbox,
        RequestContext {
            actor: Some(user.user_id),
            ..Default::default()
        },
    )
    .await
    .expect("tenant");
    let key = vault::matter_key(&mut tenant, &app.state.keyring, matter).await?;
    tenant.commit().await.expect("commit");
    Ok(key)
}

struct Version {
    key: BlobKey,
    id: Uuid,
    data_key: DataKey,
    wrapped: Vec<u8>,
}

async fn new_version(app: &TestApp, matter: MatterId) -> Version {
    let matter_key = key_of(app, &app.firm.fee_earner, matter)
        .await
        .expect("matter key");
    let id = Uuid::now_v7();
    let (data_key, wrapped) = matter_key.new_data_key(id);
    Version {
        key: BlobKey::version(matter, id),
        id,
        data_key,
        wrapped,
    }
}

async fn read(
    store: &BlobStore,
    v: &Version,
    len: u64,
    range: Option<Range<u64>>,
) -> std::io::Result<Vec<u8>> {
    let stream = store
        .get(&v.key, &v.data_key, v.id, len, range)
        .await
        .map_err(std::io::Error::other)?;
    collect(stream).await
}

#[tokio::test]
async fn a_document_round_trips_and_only_ciphertext_reaches_the_disk() {
    let app = spawn_app().await;
    let (store, dir) = local_store();
    let v = new_version(&app, app.firm.matter_a1).await;
    let data = document(300_000);

    let stored = store
        .put(&v.key, &v.data_key, v.id, body(&data), 10 * MIB as u64)
        .await
        .expect("stored");

    assert_eq!(stored.plaintext_len, data.len() as u64);
    assert_eq!(
        read(&store, &v, stored.plaintext_len, None)
            .await
            .expect("read"),
        data
    );
    let on_disk = std::fs::read(dir.join(v.key.as_str())).expect("the blob is a file");
    assert_eq!(
        on_disk.len() as u64,
        stream::ciphertext_len(data.len() as u64)
    );
    assert!(!on_disk.windows(MARKER.len()).any(|w| w == MARKER));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_range_request_returns_exactly_those_bytes() {
    let app = spawn_app().await;
    let (store, dir) = local_store();
    let v = new_version(&app, app.firm.matter_a1).await;
    let data = document(3 * stream::CHUNK_LEN + 777);
    let len = data.len() as u64;
    store
        .put(&v.key, &v.data_key, v.id, body(&data), len)
        .await
        .expect("stored: exactly max_len is allowed");
    let c = stream::CHUNK_LEN as u64;
    for range in [
        0..1,
        10..20,
        c - 3..c + 3,
        c..2 * c,
        2 * c + 1..len,
        len - 1..len,
        len..len,
    ] {
        let got = read(&store, &v, len, Some(range.clone()))
            .await
            .expect("read");
        assert_eq!(
            got,
            &data[range.start as usize..range.end as usize],
            "{range:?}"
        );
    }
    assert!(matches!(
        store
            .get(&v.key, &v.data_key, v.id, len, Some(0..len + 1))
            .await,
        Err(Error::InvalidInput(_))
    ));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn too_large_and_interrupted_uploads_leave_nothing() {
    let app = spawn_app().await;
    let (store, dir) = local_store();
    // Small bodies stay in one request; bodies past 8 MiB become multipart uploads.
    for (size, limit) in [(100_000, 99_999), (10 * MIB, 9 * MIB)] {
        let v = new_version(&app, app.firm.matter_a1).await;
        let refused = store
            .put(
                &v.key,
                &v.data_key,
                v.id,
                body(&document(size)),
                limit as u64,
            )
            .await;
        assert!(
            matches!(refused, Err(PutError::TooLarge { .. })),
            "{refused:?}"
        );
        assert!(!store.exists(&v.key).await.expect("head"));

        let v = new_version(&app, app.firm.matter_a1).await;
        let failed = store
            .put(
                &v.key,
                &v.data_key,
                v.id,
                interrupted(size),
                100 * MIB as u64,
            )
            .await;
        assert!(matches!(failed, Err(PutError::Body(_))), "{failed:?}");
        assert!(!store.exists(&v.key).await.expect("head"));
    }
    let left: Vec<_> = walk(&dir);
    assert!(left.is_empty(), "files left behind: {left:?}");
    std::fs::remove_dir_all(dir).ok();
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn destroying_the_matter_key_shreds_every_blob_of_the_matter() {
    let app = spawn_app().await;
    let (store, dir) = local_store();
    let v = new_version(&app, app.firm.matter_a1).await;
    let data = document(100_000);
    store
        .put(&v.key, &v.data_key, v.id, body(&data), MIB as u64)
        .await
        .expect("stored");
    let before = key_of(&app, &app.firm.fee_earner, app.firm.matter_a1)
        .await
        .expect("key");
    before
        .open_data_key(v.id, &v.wrapped)
        .expect("opens before");
    drop(before);

    let mut owner = app.owner.acquire().await.expect("owner connection");
    vault::destroy_matter_key(&mut owner, app.firm.matter_a1, app.clock.now())
        .await
        .expect("destroyed");

    for user in [&app.firm.fee_earner, &app.firm.partner] {
        assert!(matches!(
            key_of(&app, user, app.firm.matter_a1).await,
            Err(Error::MatterKeyDestroyed)
        ));
    }
    let wrapped: Option<Vec<u8>> =
        sqlx::query_scalar("select wrapped from matter_key where matter_id = $1")
            .bind(app.firm.matter_a1.0)
            .fetch_one(&app.owner)
            .await
            .expect("row");
    assert!(
        wrapped.is_none(),
        "the wrapped key is gone from the database"
    );
    // Without the matter key, the blob does not open with any other key.
    let guessed = key_of(&app, &app.firm.fee_earner, app.firm.matter_b1)
        .await
        .expect("another matter's key");
    assert!(guessed.open_data_key(v.id, &v.wrapped).is_err());
    let (stranger, _) = guessed.new_data_key(v.id);
    assert!(read(
        &store,
        &Version {
            data_key: stranger,
            ..v
        },
        data.len() as u64,
        None
    )
    .await
    .is_err());
    // A matter shredded before it ever had a key never gets one.
    vault::destroy_matter_key(&mut owner, app.firm.matter_a2, app.clock.now())
        .await
        .expect("tombstone");
    assert!(matches!(
        key_of(&app, &app.firm.fee_earner, app.firm.matter_a2).await,
        Err(Error::MatterKeyDestroyed)
    ));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_matter_key_opens_only_its_own_matters_data_keys() {
    let app = spawn_app().await;
    let v = new_version(&app, app.firm.matter_a1).await;
    let a1 = key_of(&app, &app.firm.fee_earner, app.firm.matter_a1)
        .await
        .expect("key");
    let b1 = key_of(&app, &app.firm.fee_earner, app.firm.matter_b1)
        .await
        .expect("key");
    assert!(a1.open_data_key(v.id, &v.wrapped).is_ok());
    assert!(b1.open_data_key(v.id, &v.wrapped).is_err());
    // A client user of the matter with the documents scope gets the same key.
    let gc = key_of(&app, &app.firm.gc, app.firm.matter_a1)
        .await
        .expect("key");
    assert!(gc.open_data_key(v.id, &v.wrapped).is_ok());
}

#[tokio::test]
async fn only_users_who_see_the_matter_reach_its_key() {
    let app = spawn_app().await;
    let f = &app.firm;
    for (user, matter) in [
        (&f.other_fee_earner, f.matter_a1), // not on the matter
        (&f.gc, f.matter_b1),               // another client's matter
        (&f.dept_head, f.matter_a2),        // no grant
        (&f.gc, f.matter_a_disabled),       // portal not enabled for its practice area
    ] {
        assert!(
            key_of(&app, user, matter).await.is_err(),
            "{} reached a matter key",
            user.email
        );
    }
}

#[tokio::test]
async fn concurrent_first_uses_agree_on_one_key() {
    let app = spawn_app().await;
    let (a, b) = tokio::join!(
        key_of(&app, &app.firm.fee_earner, app.firm.matter_a1),
        key_of(&app, &app.firm.partner, app.firm.matter_a1),
    );
    let (a, b) = (a.expect("key"), b.expect("key"));
    let id = Uuid::new_v4();
    let (_, wrapped) = a.new_data_key(id);
    b.open_data_key(id, &wrapped).expect("the same key");
}

#[tokio::test]
async fn the_blocking_reader_seeks_and_reads_the_plaintext() {
    use std::io::{Read, Seek, SeekFrom};
    let app = spawn_app().await;
    let (store, dir) = local_store();
    let v = new_version(&app, app.firm.matter_a1).await;
    let data = document(2 * stream::CHUNK_LEN + 500);
    let len = data.len() as u64;
    store
        .put(&v.key, &v.data_key, v.id, body(&data), len)
        .await
        .expect("stored");
    let mut reader = store.blocking_reader(
        &v.key,
        &v.data_key,
        v.id,
        len,
        tokio::runtime::Handle::current(),
    );
    let expected = data.clone();
    tokio::task::spawn_blocking(move || {
        let mut tail = [0u8; 22];
        reader.seek(SeekFrom::End(-22)).expect("seek");
        reader.read_exact(&mut tail).expect("read the end");
        assert_eq!(tail, expected[expected.len() - 22..]);
        reader
            .seek(SeekFrom::Start(stream::CHUNK_LEN as u64 - 5))
            .expect("seek");
        let mut across = [0u8; 10];
        reader.read_exact(&mut across).expect("read across chunks");
        assert_eq!(
            across,
            expected[stream::CHUNK_LEN - 5..stream::CHUNK_LEN + 5]
        );
        reader.rewind().expect("rewind");
        let mut all = Vec::new();
        reader.read_to_end(&mut all).expect("read all");
        assert_eq!(all, expected);
    })
    .await
    .expect("blocking task");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn the_s3_store_round_trips_ranges_and_leaves_nothing_on_failure() {
    let bucket = moto::bucket().await;
    let app = spawn_app().await;
    let mut config = Config::defaults();
    config.blob_store = Some(format!("s3://{bucket}/firm-a"));
    config.s3_endpoint = Some(moto::endpoint().to_owned());
    config.s3_access_key_id = Some("testing".into());
    config.s3_secret_access_key = Some("testing".into());
    config.s3_allow_http = true;
    let store = BlobStore::from_config(&config).expect("s3 store");

    // Past 8 MiB, so the upload is multipart.
    let v = new_version(&app, app.firm.matter_a1).await;
    let data = document(9 * MIB + 123);
    let len = data.len() as u64;
    store
        .put(&v.key, &v.data_key, v.id, body(&data), len)
        .await
        .expect("stored");
    assert_eq!(read(&store, &v, len, None).await.expect("read"), data);
    let range = 5 * MIB as u64 - 7..5 * MIB as u64 + 70_000;
    let got = read(&store, &v, len, Some(range.clone()))
        .await
        .expect("range");
    assert_eq!(got, &data[range.start as usize..range.end as usize]);

    // The object in the bucket, under the prefix, holds no plaintext.
    let raw = reqwest::get(format!("{}/{bucket}/firm-a/{}", moto::endpoint(), v.key))
        .await
        .expect("raw object")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(raw.len() as u64, stream::ciphertext_len(len));
    assert!(!raw.windows(MARKER.len()).any(|w| w == MARKER));

    let v = new_version(&app, app.firm.matter_a1).await;
    let refused = store
        .put(&v.key, &v.data_key, v.id, body(&data), 8 * MIB as u64 + 1)
        .await;
    assert!(matches!(refused, Err(PutError::TooLarge { .. })));
    assert!(!store.exists(&v.key).await.expect("head"));
    let failed = store
        .put(&v.key, &v.data_key, v.id, interrupted(100_000), len)
        .await;
    assert!(matches!(failed, Err(PutError::Body(_))));
    assert!(!store.exists(&v.key).await.expect("head"));

    store
        .delete(&v.key)
        .await
        .expect("deleting a missing blob is fine");
}
