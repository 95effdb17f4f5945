//! Table tests for figures, tables, videos and files.

use crate::body::tests::{blocks, image_json, run};
use serde_json::json;

#[test]
fn figure_with_label_caption_and_source_data() {
    let v = blocks(
        r#"<fig id="fig1"><object-id pub-id-type="doi">10.7554/eLife.00353.003</object-id><label>Figure 1.</label>
        <caption><title>The <italic>title</italic>.</title><p>Text.</p>
        <p><bold>DOI:</bold> <ext-link ext-link-type="doi" xlink:href="10.7554/eLife.00353.003">http://dx.doi.org/10.7554/eLife.00353.003</ext-link></p>
        <p><supplementary-material id="fig1sdata1"><label>Figure 1—source data 1.</label><caption><title>Counts.</title></caption><media mimetype="application" mime-subtype="xlsx" xlink:href="elife-00353-fig1-data1-v1.xlsx"/></supplementary-material></p>
        </caption><graphic xlink:href="elife-00353-fig1-v1.tif"/><attrib>Photo: X</attrib></fig>"#,
    );
    let mut image = image_json("elife-00353-fig1-v1");
    image["attribution"] = json!(["Photo: X"]);
    assert_eq!(
        v,
        json!([{"type": "figure", "assets": [{
            "type": "image",
            "doi": "10.7554/eLife.00353.003",
            "id": "fig1",
            "label": "Figure 1",
            "title": "The <i>title</i>.",
            "caption": [{"type": "paragraph", "text": "Text."}],
            "image": image,
            "sourceData": [{
                "id": "fig1sdata1",
                "label": "Figure 1—source data 1",
                "title": "Counts.",
                "mediaType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "uri": "https://cdn.example.org/00353/elife-00353-fig1-data1-v1.xlsx",
                "filename": "elife-00353-fig1-data1-v1.xlsx",
            }],
        }]}])
    );
}

#[test]
fn unlabelled_figure_is_an_image_and_extensionless_reference_is_the_tif() {
    assert_eq!(
        blocks(r#"<fig id="fig1"><graphic xlink:href="elife-00353-fig1-v1"/></fig>"#),
        json!([{"type": "image", "id": "fig1", "image": image_json("elife-00353-fig1-v1")}])
    );
}

#[test]
fn graphic_not_in_the_package_is_an_error_naming_the_element() {
    let (_, _, e) = run(
        r#"<sec id="s1"><title>T</title><p><fig id="fig9"><label>Figure 9</label><graphic xlink:href="elife-00353-fig9-v1.tif"/></fig></p></sec>"#,
    );
    let e = e.expect("an error");
    assert!(e.contains("wrap/sec[1]/p[1]/fig[1]/graphic"), "{e}");
    assert!(e.contains("elife-00353-fig9-v1.tif"), "{e}");
    // A figure without any graphic, too.
    let (_, _, e) = run(r#"<fig id="fig2"><label>Figure 2</label></fig>"#);
    assert!(e.expect("an error").contains("wrap/fig[1]/graphic"));
    // A video whose file is missing.
    let (_, _, e) = run(
        r#"<media mimetype="video" id="media9" xlink:href="elife-00353-media9.mp4"><label>Video 9</label></media>"#,
    );
    assert!(e.expect("an error").contains("wrap/media[1]"));
}

#[test]
fn fig_group_puts_supplements_and_videos_under_the_figure() {
    let (v, w, e) = run(
        r#"<fig-group><fig id="fig1"><label>Figure 1.</label><caption><title>Main.</title></caption><graphic xlink:href="elife-00353-fig1-v1.tif"/></fig>
        <fig id="fig1s1" specific-use="child-fig"><label>Figure 1—figure supplement 1.</label><graphic xlink:href="elife-00353-fig1-figsupp1-v1.tif"/></fig>
        <media mimetype="video" mime-subtype="mp4" id="fig1video1" xlink:href="elife-00353-media1.mp4"><label>Figure 1—video 1.</label><caption><title>Moves.</title></caption></media></fig-group>"#,
    );
    assert!(e.is_none());
    assert_eq!(
        w,
        vec!["wrap/fig-group[1]/media[3]: video size unknown (no poster frame): 1280x720 used"]
    );
    let assets = v[0]["assets"].as_array().unwrap();
    assert_eq!(v[0]["type"], "figure");
    assert_eq!(assets.len(), 3);
    assert_eq!(assets[0]["id"], "fig1");
    assert_eq!(
        assets[1],
        json!({"type": "image", "id": "fig1s1", "label": "Figure 1—figure supplement 1", "image": image_json("elife-00353-fig1-figsupp1-v1")})
    );
    assert_eq!(
        assets[2],
        json!({"type": "video", "id": "fig1video1", "label": "Figure 1—video 1", "title": "Moves.",
            "sources": [{"mediaType": "video/mp4", "uri": "https://cdn.example.org/00353/elife-00353-media1.mp4"}],
            "width": 1280, "height": 720})
    );
}

#[test]
fn video_on_its_own_is_a_figure() {
    let (v, w, e) = run(
        r#"<media mimetype="video" mime-subtype="avi" id="media1" xlink:href="elife-00353-media1.mp4"><object-id pub-id-type="doi">10.7554/eLife.00353.016</object-id><label>Video 1.</label><caption><p>On plant.</p></caption></media>"#,
    );
    assert!(e.is_none());
    assert_eq!(w.len(), 1, "size unknown: {w:?}");
    assert_eq!(
        v,
        json!([{"type": "figure", "assets": [{"type": "video", "doi": "10.7554/eLife.00353.016", "id": "media1", "label": "Video 1",
            "caption": [{"type": "paragraph", "text": "On plant."}],
            "sources": [{"mediaType": "video/mp4", "uri": "https://cdn.example.org/00353/elife-00353-media1.mp4"}],
            "width": 1280, "height": 720}]}])
    );
}

#[test]
fn tables() {
    let v = blocks(
        r#"<table-wrap id="tbl1"><label>Table 1.</label><caption><title>Counts</title><p>Per day.</p></caption>
        <table frame="hsides"><thead><tr><th colspan="2" onclick="x">A &amp; B</th></tr></thead>
        <tbody><tr><td style="author-callout-style-b1"><italic>x</italic></td><td/></tr></tbody></table>
        <table-wrap-foot><fn id="tblfn1"><label>*</label><p>p&lt;0.05</p></fn><fn><p>Plain.</p></fn></table-wrap-foot></table-wrap>"#,
    );
    assert_eq!(
        v,
        json!([{"type": "figure", "assets": [{"type": "table", "id": "tbl1", "label": "Table 1", "title": "Counts",
        "caption": [{"type": "paragraph", "text": "Per day."}],
        "tables": ["<table><thead><tr><th colspan=\"2\">A &amp; B</th></tr></thead><tbody><tr><td class=\"author-callout-style-b1\"><i>x</i></td><td></td></tr></tbody></table>"],
        "footnotes": [
            {"id": "tblfn1", "label": "*", "text": [{"type": "paragraph", "text": "p&lt;0.05"}]},
            {"text": [{"type": "paragraph", "text": "Plain."}]},
        ]}]}])
    );
    // Unlabelled (e.g. inside a sub-article): a table block.
    assert_eq!(
        blocks(
            "<table-wrap id=\"t\"><table><tbody><tr><td>1</td></tr></tbody></table></table-wrap>"
        ),
        json!([{"type": "table", "id": "t", "tables": ["<table><tbody><tr><td>1</td></tr></tbody></table>"]}])
    );
}

#[test]
fn display_formula_variants() {
    assert_eq!(
        blocks(
            r#"<disp-formula id="equ2"><mml:math display="block"><mml:mrow><mml:msup><mml:mi>e</mml:mi><mml:mn>2</mml:mn></mml:msup></mml:mrow></mml:math></disp-formula>"#
        ),
        json!([{"type": "mathml", "id": "equ2", "mathml": "<math><mrow><msup><mi>e</mi><mn>2</mn></msup></mrow></math>"}])
    );
    // An image formula (older XML).
    assert_eq!(
        blocks(
            r#"<disp-formula id="equ3"><graphic xlink:href="elife-00353-fig1-v1"/></disp-formula>"#
        ),
        json!([{"type": "image", "id": "equ3", "image": image_json("elife-00353-fig1-v1")}])
    );
}

#[test]
fn table_cells_hold_formulas_lists_and_paragraphs() {
    assert_eq!(
        blocks(
            r#"<table-wrap><table><tbody><tr><td><disp-formula><label>(1)</label><mml:math><mml:mi>x</mml:mi></mml:math></disp-formula></td><td><list list-type="order"><list-item><p>a</p></list-item></list></td><td><p>a</p><p>b</p></td></tr></tbody></table></table-wrap>"#
        ),
        json!([{"type": "table", "tables": ["<table><tbody><tr><td><math><mi>x</mi></math></td><td><ol class=\"list list--number\"><li>a</li></ol></td><td>a<br>b</td></tr></tbody></table>"]}])
    );
}
