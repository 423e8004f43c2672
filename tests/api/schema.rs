//! The committed `schema.graphql` is what the server serves, and every type and field in
//! it is documented.

use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .unwrap_or_default();
    assert!(
        committed == paylater::graphql::sdl(),
        "schema.graphql is stale: refresh it with `cargo run -- export-schema --output schema.graphql` and commit it"
    );
}

/// Built-in scalars described by the GraphQL spec itself.
const BUILT_IN: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_described() {
    let app = TestApp::spawn().await;
    let query = "{ __schema { types { name description
        fields { name description args { name description } }
        inputFields { name description }
        enumValues { name description } } } }";
    let body = app.gql(None, query, json!({})).await;
    let mut missing = Vec::new();
    let blank =
        |value: &serde_json::Value| value.as_str().is_none_or(|text| text.trim().is_empty());
    for ty in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || BUILT_IN.contains(&name) {
            continue;
        }
        if blank(&ty["description"]) {
            missing.push(name.to_owned());
        }
        for (list, kind) in [
            ("fields", "field"),
            ("inputFields", "input field"),
            ("enumValues", "value"),
        ] {
            for member in ty[list].as_array().into_iter().flatten() {
                let member_name = member["name"].as_str().unwrap();
                if blank(&member["description"]) {
                    missing.push(format!("{name}.{member_name} ({kind})"));
                }
                for arg in member["args"].as_array().into_iter().flatten() {
                    if blank(&arg["description"]) {
                        missing.push(format!("{name}.{member_name}({})", arg["name"]));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}
