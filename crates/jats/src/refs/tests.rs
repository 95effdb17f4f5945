use super::*;

#[test]
#[ignore]
fn dump() {
    let f = std::env::var("DUMP").unwrap();
    let xml = std::fs::read(&f).unwrap();
    let c = crate::convert(&xml, "x.xml", &crate::Options::default()).unwrap();
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"references": c.article.references, "dataSets": c.article.data_sets})).unwrap());
    for w in c.warnings {
        println!("WARN {w}");
    }
}
