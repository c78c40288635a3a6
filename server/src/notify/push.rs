//! Web Push (RFC 8030) with message encryption (RFC 8291, `aes128gcm` from RFC 8188) and VAPID
//! (RFC 8292), on `ring`, which the TLS stack already builds (decision 0033).
//!
//! A push carries a small JSON notice (title, body, the matter's link, a tag) encrypted for the
//! one browser that subscribed: the push service relays bytes it cannot read. Its `Topic` is the
//! notice's folding key, so a newer notice of the same kind on the same matter replaces one the
//! push service still holds, and `Urgency` and `TTL` follow the kind.

use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use ring::{aead, agreement};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::keyring::{Keyring, Purpose};

/// The record size written in the header: one record always holds a notice.
const RECORD_SIZE: u32 = 4096;

/// How long a VAPID token is valid (RFC 8292 allows at most 24 hours).
pub const VAPID_LIFETIME_SECS: i64 = 12 * 3600;

/// The server's VAPID signing key. `Debug` never shows it.
pub struct Vapid {
    key: EcdsaKeyPair,
    /// The public key, uncompressed, base64url: the browsers' `applicationServerKey`.
    public: String,
    /// Who to contact about this sender (`sub`).
    subject: String,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

const SECRET_NAME: &str = "vapid";

impl Vapid {
    /// The deployment's key: read from `server_secret` and opened with the keyring, or generated
    /// and stored sealed on first start (the first of several nodes starting together wins).
    pub async fn load_or_create(
        pool: &PgPool,
        keyring: &Keyring,
        subject: String,
    ) -> anyhow::Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 =
            ring::signature::EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| anyhow::anyhow!("could not generate a VAPID key"))?;
        let sealed = keyring.seal(
            Purpose::ServerSecret,
            SECRET_NAME.as_bytes(),
            pkcs8.as_ref(),
        );
        // Only a new deployment stores this one; otherwise the stored key stays.
        sqlx::query!(
            "insert into server_secret (name, sealed, key_id) values ($1, $2, $3)
             on conflict (name) do nothing",
            SECRET_NAME,
            sealed,
            keyring.key_id(),
        )
        .execute(pool)
        .await?;
        let stored = sqlx::query_scalar!(
            "select sealed from server_secret where name = $1",
            SECRET_NAME
        )
        .fetch_one(pool)
        .await?;
        let pkcs8 = keyring.open(Purpose::ServerSecret, SECRET_NAME.as_bytes(), &stored)?;
        Self::from_pkcs8(&pkcs8, subject)
    }

    fn from_pkcs8(pkcs8: &[u8], subject: String) -> anyhow::Result<Self> {
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|_| anyhow::anyhow!("the stored VAPID key is not a P-256 key"))?;
        let public = BASE64URL_NOPAD.encode(key.public_key().as_ref());
        Ok(Self {
            key,
            public,
            subject,
        })
    }

    /// The public key, base64url.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `endpoint`'s push service, valid until `exp`
    /// (seconds since the epoch).
    pub fn authorization(&self, endpoint: &url::Url, exp: i64) -> anyhow::Result<String> {
        let audience = endpoint.origin().ascii_serialization();
        let header = BASE64URL_NOPAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = BASE64URL_NOPAD.encode(&serde_json::to_vec(&serde_json::json!({
            "aud": audience,
            "exp": exp,
            "sub": self.subject,
        }))?);
        let signing_input = format!("{header}.{claims}");
        let signature = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|_| anyhow::anyhow!("could not sign the VAPID token"))?;
        Ok(format!(
            "vapid t={signing_input}.{}, k={}",
            BASE64URL_NOPAD.encode(signature.as_ref()),
            self.public
        ))
    }
}

/// Re-seals the server's secrets under the current key-encryption key (`docket admin
/// rotate-keys`), in the caller's transaction. Returns how many changed.
pub async fn reseal_server_secrets(
    conn: &mut sqlx::PgConnection,
    keyring: &Keyring,
) -> anyhow::Result<u64> {
    let rows = sqlx::query!("select name, sealed from server_secret order by name for update")
        .fetch_all(&mut *conn)
        .await?;
    let mut resealed = 0;
    for row in rows {
        if let Some(sealed) =
            keyring.reseal(Purpose::ServerSecret, row.name.as_bytes(), &row.sealed)?
        {
            sqlx::query!(
                "update server_secret set sealed = $2, key_id = $3 where name = $1",
                row.name,
                sealed,
                keyring.key_id(),
            )
            .execute(&mut *conn)
            .await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// The browser's keys from its subscription.
#[derive(Clone, Debug)]
pub struct Receiver {
    /// Its P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// Its authentication secret (16 bytes).
    pub auth: Vec<u8>,
}

/// Encrypts `plaintext` for `receiver` (RFC 8291): a fresh key pair and salt per message.
pub fn encrypt(receiver: &Receiver, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
    let rng = SystemRandom::new();
    let private = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .map_err(|_| anyhow::anyhow!("could not generate a key pair"))?;
    let sender_public = private
        .compute_public_key()
        .map_err(|_| anyhow::anyhow!("could not compute the public key"))?;
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, &receiver.p256dh);
    let shared = agreement::agree_ephemeral(private, &peer, |secret| secret.to_vec())
        .map_err(|_| anyhow::anyhow!("the subscription's public key is not a P-256 point"))?;
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&rng, &mut salt)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    encrypt_with(&shared, receiver, sender_public.as_ref(), &salt, plaintext)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The deterministic rest of [`encrypt`], given the ECDH secret, the sender's public key and the
/// salt (so it can be checked against a known answer).
fn encrypt_with(
    ecdh_secret: &[u8],
    receiver: &Receiver,
    sender_public: &[u8],
    salt: &[u8; 16],
    plaintext: &[u8],
) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        receiver.p256dh.len() == 65 && receiver.auth.len() == 16,
        "the subscription's keys have the wrong length"
    );
    anyhow::ensure!(
        plaintext.len() + 17 <= RECORD_SIZE as usize,
        "a push notice must fit one record"
    );
    // RFC 8291 section 3.4: the input keying material mixes the auth secret and both keys.
    let prk_key = hmac(&receiver.auth, &[ecdh_secret]);
    let ikm = hmac(
        &prk_key,
        &[b"WebPush: info\0", &receiver.p256dh, sender_public, &[1]],
    );
    // RFC 8188 section 2.2 and 2.3: the content-encryption key and the nonce.
    let prk = hmac(salt, &[&ikm]);
    let cek = hmac(&prk, &[b"Content-Encoding: aes128gcm\0", &[1]]);
    let nonce = hmac(&prk, &[b"Content-Encoding: nonce\0", &[1]]);
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek[..16])
            .map_err(|_| anyhow::anyhow!("bad key length"))?,
    );
    let nonce = aead::Nonce::try_assume_unique_for_key(&nonce[..12])
        .map_err(|_| anyhow::anyhow!("bad nonce length"))?;
    // One record, the last: the content and the delimiter 2, no padding.
    let mut record = Vec::with_capacity(plaintext.len() + 17);
    record.extend_from_slice(plaintext);
    record.push(2);
    key.seal_in_place_append_tag(nonce, aead::Aad::empty(), &mut record)
        .map_err(|_| anyhow::anyhow!("could not encrypt"))?;
    let mut body = Vec::with_capacity(16 + 4 + 1 + sender_public.len() + record.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(sender_public.len() as u8);
    body.extend_from_slice(sender_public);
    body.extend_from_slice(&record);
    Ok(body)
}

/// A topic for the push service (RFC 8030 section 5.4: at most 32 base64url characters): the same
/// for every notice with one folding key, so a newer one replaces an undelivered older one.
pub fn topic(key: &str) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(key.as_bytes())[..18])
}

/// How urgently a push service should deliver (RFC 8030 section 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    Normal,
    High,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// One push to send.
#[derive(Debug)]
pub struct Push<'a> {
    pub endpoint: &'a str,
    pub receiver: Receiver,
    pub payload: Vec<u8>,
    pub topic: Option<String>,
    pub urgency: Urgency,
    pub ttl: Duration,
}

/// What the push service made of it.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// Accepted (201).
    Accepted,
    /// The subscription is gone (404 or 410): forget it.
    Gone,
}

/// Sends pushes: an HTTP client, the VAPID key and the allowed push services.
#[derive(Debug)]
pub struct Pusher {
    http: reqwest::Client,
    /// None when the stored key does not open with the configured key-encryption keys: the
    /// server still serves, and Web Push waits until the right key is configured.
    vapid: Option<Vapid>,
    services: Vec<String>,
}

impl Pusher {
    pub fn new(vapid: Option<Vapid>, services: Vec<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(8))
            .connect_timeout(Duration::from_secs(4))
            // A push service answers; it never sends the server elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            vapid,
            services,
        })
    }

    /// The VAPID key, if this server can push.
    pub fn vapid(&self) -> Option<&Vapid> {
        self.vapid.as_ref()
    }

    /// Whether `endpoint` points at an allowed push service. The server sends to nothing else:
    /// a subscription is where the server makes requests, so an arbitrary URL would let a client
    /// aim it at internal addresses.
    pub fn allows(&self, endpoint: &str) -> bool {
        allowed(&self.services, endpoint)
    }

    /// Encrypts and sends one push. An error is a failure to retry; `Gone` is final.
    pub async fn send(&self, push: Push<'_>, now_unix: i64) -> anyhow::Result<Sent> {
        anyhow::ensure!(
            self.allows(push.endpoint),
            "the endpoint is not an allowed push service"
        );
        let vapid = self.vapid.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the VAPID key does not open with the configured key-encryption keys")
        })?;
        let url = url::Url::parse(push.endpoint)?;
        let body = encrypt(&push.receiver, &push.payload)?;
        let authorization = vapid.authorization(&url, now_unix + VAPID_LIFETIME_SECS)?;
        let mut request = self
            .http
            .post(url)
            .header("TTL", push.ttl.as_secs().to_string())
            .header("Urgency", push.urgency.as_str())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body);
        if let Some(topic) = &push.topic {
            request = request.header("Topic", topic);
        }
        // The endpoint URL is the subscription's capability: never in an error or a log line.
        let response = request.send().await.map_err(|e| {
            anyhow::anyhow!("the push service could not be reached: {}", e.without_url())
        })?;
        match response.status().as_u16() {
            200..=299 => Ok(Sent::Accepted),
            404 | 410 => Ok(Sent::Gone),
            // The answer's text is the push service's, never ours: it holds no content.
            status => anyhow::bail!("the push service answered {status}"),
        }
    }
}

/// See [`Pusher::allows`].
pub fn allowed(services: &[String], endpoint: &str) -> bool {
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    if !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    services.iter().any(|service| {
        if let Some(origin) = service.strip_prefix("http://") {
            // An exact plain-HTTP origin: a test's or a private deployment's own service.
            url.scheme() == "http"
                && url
                    .port_or_known_default()
                    .map(|p| format!("{host}:{p}"))
                    .as_deref()
                    == Some(origin)
        } else {
            let service = service.trim_start_matches("https://");
            url.scheme() == "https"
                && (host == service
                    || host
                        .strip_suffix(service)
                        .is_some_and(|rest| rest.ends_with('.')))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        BASE64URL_NOPAD.decode(s.as_bytes()).expect("base64url")
    }

    /// RFC 8291 appendix A: the message the RFC encrypts, byte for byte, from its ECDH secret,
    /// keys and salt.
    #[test]
    fn encrypts_the_rfc_8291_example() {
        let receiver = Receiver {
            p256dh: b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            auth: b64("BTBZMqHH6r4Tts7J_aSIgg"),
        };
        let sender_public = b64("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
        let ecdh_secret = b64("kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().expect("16 bytes");
        let body = encrypt_with(
            &ecdh_secret,
            &receiver,
            &sender_public,
            &salt,
            b"When I grow up, I want to be a watermelon",
        )
        .expect("encrypts");
        let expected = b64("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN");
        assert_eq!(
            BASE64URL_NOPAD.encode(&body),
            BASE64URL_NOPAD.encode(&expected)
        );
    }

    #[test]
    fn only_allowed_push_services_are_reached() {
        let services: Vec<String> = vec![
            "fcm.googleapis.com".into(),
            "push.services.mozilla.com".into(),
            "http://127.0.0.1:9000".into(),
        ];
        for ok in [
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://updates.push.services.mozilla.com/wpush/v2/x",
            "http://127.0.0.1:9000/push/1",
        ] {
            assert!(allowed(&services, ok), "{ok}");
        }
        for refused in [
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://evilfcm.googleapis.com.example/x",
            "https://notfcm.googleapis.com.attacker.test/x",
            "https://xfcm.googleapis.com/x",
            "https://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:9001/push/1",
            "http://localhost:9000/push/1",
            "https://user:pw@fcm.googleapis.com/x",
            "not a url",
        ] {
            assert!(!allowed(&services, refused), "{refused}");
        }
    }

    #[test]
    fn a_topic_is_short_url_safe_and_stable() {
        let t = topic("matter:message");
        assert_eq!(t.len(), 24);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(t, topic("matter:message"));
        assert_ne!(t, topic("matter:document"));
    }

    #[test]
    fn the_vapid_token_names_the_push_service_and_verifies() {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let vapid =
            Vapid::from_pkcs8(pkcs8.as_ref(), "mailto:portal@example.test".into()).expect("vapid");
        let url = url::Url::parse("https://fcm.googleapis.com/fcm/send/abc").expect("url");
        let header = vapid.authorization(&url, 1_900_000_000).expect("signs");
        let (t, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .expect("vapid t=…, k=…");
        assert_eq!(k, vapid.public_key());
        let (signing_input, signature) = t.rsplit_once('.').expect("three parts");
        let claims: serde_json::Value = serde_json::from_slice(&b64(signing_input
            .split_once('.')
            .expect("header.claims")
            .1))
        .expect("json");
        assert_eq!(claims["aud"], "https://fcm.googleapis.com");
        assert_eq!(claims["exp"], 1_900_000_000);
        assert_eq!(claims["sub"], "mailto:portal@example.test");
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, b64(k))
            .verify(signing_input.as_bytes(), &b64(signature))
            .expect("the signature verifies with the published key");
    }
}
