//! Verification of the audit hash chain, recomputed here independently of the database trigger
//! that wrote it (`audit_event_chain` in the migrations): both must serialise a row identically.

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

/// Rows fetched per round trip while walking the chain.
const BATCH: i64 = 1_000;

/// The fields a row's hash covers.
#[derive(Debug)]
pub struct ChainRow {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub source_ip: Option<String>,
    pub matter_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub prev_hash: Vec<u8>,
    pub row_hash: Vec<u8>,
}

impl ChainRow {
    /// The canonical bytes: each field as `<byte length>:<value>`, joined by `|`.
    fn canonical(&self) -> Vec<u8> {
        let micros = self.occurred_at.unix_timestamp_nanos() / 1_000;
        let uuid = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
        let fields = [
            self.seq.to_string(),
            micros.to_string(),
            uuid(self.actor_id),
            uuid(self.device_id),
            self.source_ip.clone().unwrap_or_default(),
            uuid(self.matter_id),
            uuid(self.client_id),
            self.action.clone(),
            self.target.clone().unwrap_or_default(),
            self.detail.clone().unwrap_or_default(),
        ];
        fields
            .iter()
            .map(|f| format!("{}:{f}", f.len()))
            .collect::<Vec<_>>()
            .join("|")
            .into_bytes()
    }

    /// The hash this row should carry, given the previous row's hash.
    pub fn expected_hash(&self, prev_hash: &[u8]) -> Vec<u8> {
        let mut hasher = Sha256::new();
        hasher.update(prev_hash);
        hasher.update(self.canonical());
        hasher.finalize().to_vec()
    }
}

/// The outcome of a walk along the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every row verified.
    Intact { rows: u64 },
    /// The first row that does not verify, and why.
    Broken { seq: i64, reason: String },
}

/// Walks the whole chain in order. Run as the owner: the trail is complete only without RLS.
pub async fn verify(pool: &PgPool) -> anyhow::Result<Verdict> {
    let mut prev_hash = vec![0u8; 32];
    let mut expected_seq = 1i64;
    let mut rows = 0u64;
    loop {
        let batch = sqlx::query_as!(
            ChainRow,
            r#"select seq, occurred_at, actor_id, device_id, host(source_ip) as source_ip, matter_id,
                      client_id, action, target, detail, prev_hash, row_hash
               from audit_event where seq >= $1 order by seq limit $2"#,
            expected_seq,
            BATCH
        )
        .fetch_all(pool)
        .await?;
        if batch.is_empty() {
            break;
        }
        let done = (batch.len() as i64) < BATCH;
        for row in &batch {
            if row.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("row {expected_seq} is missing (next row is {})", row.seq),
                });
            }
            if row.prev_hash != prev_hash {
                return Ok(Verdict::Broken {
                    seq: row.seq,
                    reason: "its link to the previous row does not match".into(),
                });
            }
            if row.row_hash != row.expected_hash(&prev_hash) {
                return Ok(Verdict::Broken {
                    seq: row.seq,
                    reason: "its content does not match its hash".into(),
                });
            }
            prev_hash = row.row_hash.clone();
            expected_seq += 1;
            rows += 1;
        }
        if done {
            break;
        }
    }
    let head = sqlx::query!("select last_seq, last_hash from audit_chain_head")
        .fetch_one(pool)
        .await?;
    if head.last_seq != expected_seq - 1 || (rows > 0 && head.last_hash != prev_hash) {
        return Ok(Verdict::Broken {
            seq: expected_seq,
            reason: format!(
                "the chain ends at row {} but its head records row {}",
                expected_seq - 1,
                head.last_seq
            ),
        });
    }
    Ok(Verdict::Intact { rows })
}
