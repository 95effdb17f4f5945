//! The converter over a corpus of eLife XML outside the repository
//! (`PRESSBOT_JATS_CORPUS=<dir of *.xml>`): every file must convert to
//! schema-valid article-json or fail with an error naming an element.
//! Ignored by default (the corpus is not in the repository); run with
//! `PRESSBOT_JATS_CORPUS=dir cargo test -p pressbot-jats --test corpus -- --ignored --nocapture`.

mod common;

use common::*;
use pressbot_jats::{convert, Status};

#[test]
#[ignore = "needs PRESSBOT_JATS_CORPUS"]
fn corpus_converts_or_fails_clearly() {
    let dir = std::env::var("PRESSBOT_JATS_CORPUS").expect("set PRESSBOT_JATS_CORPUS");
    let vor = validator(Status::Vor);
    let poa = validator(Status::Poa);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir}: no *.xml");
    let (mut valid, mut refused, mut invalid) = (0, 0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let xml = std::fs::read_to_string(path).expect("read");
        let id = name
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>();
        let opts = options_for(&xml, &id);
        let t = std::time::Instant::now();
        match convert(xml.as_bytes(), &name, &opts) {
            Err(e) => {
                refused += 1;
                println!("REFUSED {name}: {e}");
            }
            Ok(c) => {
                let v = violations(&vor, &poa, &c.article);
                if v.is_empty() {
                    valid += 1;
                    println!(
                        "ok      {name}: {:?}, {} warnings, {:?}",
                        c.article.status.unwrap_or(Status::Vor),
                        c.warnings.len(),
                        t.elapsed()
                    );
                } else {
                    invalid += 1;
                    println!("INVALID {name}:\n{}", v.join("\n"));
                }
            }
        }
    }
    println!(
        "{valid} valid, {refused} refused, {invalid} invalid of {}",
        files.len()
    );
    assert_eq!(invalid, 0, "schema-invalid output");
}
