//! Malware scanning against a real clamd (see `clamd_fixture`): what a user would notice is that
//! an infected upload is refused and a clean one goes through, whatever the chunking.

use std::io::{Cursor, Write};

use docket_server::intake::{Clamd, ScanVerdict, Sniffed, Sniffer};

use crate::clamd_fixture::{clamd_socket, EICAR, SIGNATURE};

/// Streams `bytes` to clamd in chunks of `chunk` bytes, as an upload would arrive.
async fn scan(bytes: &[u8], chunk: usize) -> ScanVerdict {
    let clamd = Clamd::new(clamd_socket().await);
    let mut session = clamd.session().await.expect("INSTREAM session");
    for part in bytes.chunks(chunk) {
        session.feed(part).await.expect("feed");
    }
    session.finish().await.expect("a verdict")
}

fn assert_infected(verdict: ScanVerdict) {
    match verdict {
        ScanVerdict::Infected { signature } => {
            assert!(signature.starts_with(SIGNATURE), "{signature}")
        }
        ScanVerdict::Clean => panic!("EICAR was not detected"),
    }
}

#[tokio::test]
async fn clamd_answers_ping() {
    Clamd::new(clamd_socket().await).ping().await.expect("PONG");
}

#[tokio::test]
async fn the_eicar_string_is_infected() {
    assert_infected(scan(EICAR, 10).await);
}

#[tokio::test]
async fn the_eicar_string_inside_a_zip_is_infected() {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer.start_file("invoice.txt", options).expect("entry");
    writer.write_all(EICAR).expect("write");
    let zipped = writer.finish().expect("zip").into_inner();
    assert!(
        !zipped.windows(EICAR.len()).any(|w| w == EICAR),
        "compressed"
    );

    assert_infected(scan(&zipped, 7).await);
}

#[tokio::test]
async fn a_clean_pdf_is_clean() {
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
                2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n\
                trailer << /Root 1 0 R >>\n%%EOF\n"
        .repeat(2000);
    let mut sniffer = Sniffer::new();
    sniffer.feed(&pdf[..100]);
    sniffer.feed(&pdf[100..]);
    assert_eq!(
        sniffer.finish(pdf.len() as u64),
        Ok(Sniffed::Final(docket_server::intake::FileKind::Pdf))
    );

    assert_eq!(scan(&pdf, 64 * 1024 + 3).await, ScanVerdict::Clean);
}
