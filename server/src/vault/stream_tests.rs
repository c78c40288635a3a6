//! Unit tests of the chunk format: round trips, ranges and tampering.

use super::*;

fn key(byte: u8) -> DataKey {
    DataKey::from_bytes([byte; 32])
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Encrypts in uneven pushes, as a network body arrives.
fn encrypt(key: &DataKey, version: Uuid, data: &[u8]) -> Vec<u8> {
    let mut enc = Encryptor::new(key, version);
    let mut out = Vec::new();
    for piece in data.chunks(7_919) {
        out.extend(enc.push(piece));
    }
    out.extend(enc.finish());
    out
}

/// Decrypts `range` of `blob` the way the store does: header, then the planned chunks.
fn decrypt(
    key: &DataKey,
    version: Uuid,
    blob: &[u8],
    plaintext_len: u64,
    range: Range<u64>,
) -> Result<Vec<u8>, FormatError> {
    let plan = plan_range(plaintext_len, range).ok_or(FormatError::Length)?;
    let header = Header::parse(blob.get(..HEADER_LEN).ok_or(FormatError::Header)?)?;
    let cipher = cipher(key);
    let mut out = Vec::new();
    for index in plan.chunks.clone() {
        let at = chunk_ciphertext_range(plaintext_len, index);
        let sealed = blob
            .get(at.start as usize..at.end as usize)
            .ok_or(FormatError::Length)?;
        let last = index == chunk_count(plaintext_len) - 1;
        out.extend(decrypt_chunk(
            &cipher, version, &header, index, last, sealed,
        )?);
    }
    if blob.len() as u64 != ciphertext_len(plaintext_len) {
        return Err(FormatError::Length);
    }
    Ok(out[plan.skip..plan.skip + plan.len as usize].to_vec())
}

#[test]
fn round_trips_at_every_boundary_size() {
    let version = Uuid::new_v4();
    for len in [
        0,
        1,
        CHUNK_LEN - 1,
        CHUNK_LEN,
        CHUNK_LEN + 1,
        3 * CHUNK_LEN,
        3 * CHUNK_LEN + 12_345,
    ] {
        let data = plaintext(len);
        let blob = encrypt(&key(1), version, &data);
        assert_eq!(blob.len() as u64, ciphertext_len(len as u64), "size {len}");
        let back = decrypt(&key(1), version, &blob, len as u64, 0..len as u64).expect("opens");
        assert_eq!(back, data, "size {len}");
    }
}

#[test]
fn ciphertext_len_follows_the_layout() {
    let h = HEADER_LEN as u64;
    assert_eq!(ciphertext_len(0), h + 16);
    assert_eq!(ciphertext_len(1), h + 1 + 16);
    assert_eq!(ciphertext_len(CHUNK_LEN as u64), h + CHUNK_LEN as u64 + 16);
    assert_eq!(
        ciphertext_len(CHUNK_LEN as u64 + 1),
        h + CHUNK_LEN as u64 + 1 + 32
    );
}

#[test]
fn every_range_of_a_small_file_decrypts_exactly() {
    let version = Uuid::new_v4();
    let data = plaintext(40);
    let blob = encrypt(&key(2), version, &data);
    for start in 0..=40u64 {
        for end in start..=40u64 {
            let got = decrypt(&key(2), version, &blob, 40, start..end).expect("opens");
            assert_eq!(got, &data[start as usize..end as usize], "{start}..{end}");
        }
    }
    assert!(plan_range(40, 10..41).is_none());
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = plan_range(40, 10..9);
    assert!(reversed.is_none());
}

#[test]
fn ranges_across_chunks_read_only_the_chunks_needed() {
    let version = Uuid::new_v4();
    let len = 3 * CHUNK_LEN + 100;
    let data = plaintext(len);
    let blob = encrypt(&key(3), version, &data);
    let c = CHUNK_LEN as u64;
    for range in [
        0..1,
        c - 1..c + 1,
        c..2 * c,
        2 * c + 5..3 * c + 100,
        3 * c..3 * c + 100,
        3 * c + 100..3 * c + 100,
    ] {
        let plan = plan_range(len as u64, range.clone()).expect("in range");
        let expected_chunks = (range.end - range.start).div_ceil(c).max(1);
        assert!(plan.chunks.end - plan.chunks.start <= expected_chunks + 1);
        let got = decrypt(&key(3), version, &blob, len as u64, range.clone()).expect("opens");
        assert_eq!(got, &data[range.start as usize..range.end as usize]);
    }
    let plan = plan_range(len as u64, c + 10..c + 20).expect("in range");
    assert_eq!(plan.chunks, 1..2);
    assert_eq!(plan.skip, 10);
    assert_eq!(
        plan.ciphertext,
        HEADER_LEN as u64 + SEALED_CHUNK_LEN as u64
            ..HEADER_LEN as u64 + 2 * SEALED_CHUNK_LEN as u64
    );
}

#[test]
fn a_flipped_bit_anywhere_fails() {
    let version = Uuid::new_v4();
    let len = CHUNK_LEN + 50;
    let blob = encrypt(&key(4), version, &plaintext(len));
    for at in [
        0,
        4,
        10,
        HEADER_LEN,
        HEADER_LEN + 100,
        HEADER_LEN + SEALED_CHUNK_LEN - 1,
        blob.len() - 1,
    ] {
        let mut tampered = blob.clone();
        tampered[at] ^= 0x01;
        assert!(
            decrypt(&key(4), version, &tampered, len as u64, 0..len as u64).is_err(),
            "flip at {at}"
        );
    }
}

#[test]
fn truncation_fails_even_when_the_length_is_lied_about() {
    let version = Uuid::new_v4();
    let len = 3 * CHUNK_LEN;
    let blob = encrypt(&key(5), version, &plaintext(len));
    let cut = &blob[..HEADER_LEN + 2 * SEALED_CHUNK_LEN];
    assert!(matches!(
        decrypt(&key(5), version, cut, len as u64, 0..len as u64),
        Err(FormatError::Length)
    ));
    // With a recorded length that matches the cut, the new last chunk was sealed as "not last".
    let lied = 2 * CHUNK_LEN as u64;
    assert!(matches!(
        decrypt(&key(5), version, cut, lied, 0..lied),
        Err(FormatError::Authentication)
    ));
    // Dropping everything but the header fails too.
    assert!(decrypt(&key(5), version, &blob[..HEADER_LEN], 0, 0..0).is_err());
}

#[test]
fn reordered_chunks_fail() {
    let version = Uuid::new_v4();
    let len = 3 * CHUNK_LEN;
    let blob = encrypt(&key(6), version, &plaintext(len));
    let (first, second) = (
        HEADER_LEN..HEADER_LEN + SEALED_CHUNK_LEN,
        HEADER_LEN + SEALED_CHUNK_LEN..HEADER_LEN + 2 * SEALED_CHUNK_LEN,
    );
    let mut swapped = blob[..HEADER_LEN].to_vec();
    swapped.extend_from_slice(&blob[second]);
    swapped.extend_from_slice(&blob[first]);
    swapped.extend_from_slice(&blob[HEADER_LEN + 2 * SEALED_CHUNK_LEN..]);
    assert!(decrypt(&key(6), version, &swapped, len as u64, 0..len as u64).is_err());
}

#[test]
fn chunks_from_another_version_fail_even_under_the_same_key_and_prefix() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let len = 2 * CHUNK_LEN + 10;
    let blob_a = encrypt(&key(7), a, &plaintext(len));
    // Force the same nonce prefix, so only the version id in the AAD tells the chunks apart.
    let mut enc_b = Encryptor::new(&key(7), b);
    enc_b.header = Header::parse(&blob_a[..HEADER_LEN]).expect("header");
    let mut blob_b = enc_b.push(&plaintext(len));
    blob_b.extend(enc_b.finish());
    let chunk = HEADER_LEN + SEALED_CHUNK_LEN..HEADER_LEN + 2 * SEALED_CHUNK_LEN;
    let mut mixed = blob_a.clone();
    mixed[chunk.clone()].copy_from_slice(&blob_b[chunk]);
    assert!(decrypt(&key(7), a, &mixed, len as u64, 0..len as u64).is_err());
    // And a whole blob does not open as another version.
    assert!(decrypt(&key(7), b, &blob_a, len as u64, 0..len as u64).is_err());
}

#[test]
fn another_key_fails_and_the_plaintext_never_shows() {
    let version = Uuid::new_v4();
    let marker = b"PRIVILEGED-AND-CONFIDENTIAL".repeat(5_000);
    let blob = encrypt(&key(8), version, &marker);
    assert!(!blob
        .windows(27)
        .any(|w| w == b"PRIVILEGED-AND-CONFIDENTIAL"));
    let len = marker.len() as u64;
    assert!(decrypt(&key(9), version, &blob, len, 0..len).is_err());
}

#[test]
fn two_encryptions_of_the_same_data_differ() {
    let version = Uuid::new_v4();
    let data = plaintext(1000);
    assert_ne!(
        encrypt(&key(1), version, &data),
        encrypt(&key(1), version, &data)
    );
}
