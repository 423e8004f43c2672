//! `merchant { checkouts }`: keyset pagination both ways, filters, sorts, and isolation
//! between merchants.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestMerchant, checkout_input, create_checkout, error_codes};

const LIST: &str = "query($first: Int, $after: String, $last: Int, $before: String,
                          $filter: CheckoutFilterInput, $sort: CheckoutSortInput) {
    merchant { checkouts(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { merchantReference status } }
    } } }";

/// Creates checkouts `ref-0` … `ref-{n-1}`, one minute apart.
async fn seed(app: &TestApp, merchant: &TestMerchant, n: usize) {
    for i in 0..n {
        create_checkout(app, merchant, checkout_input(&format!("ref-{i}"))).await;
        app.clock.advance(chrono::Duration::minutes(1));
    }
}

async fn page(app: &TestApp, merchant: &TestMerchant, variables: Value) -> Value {
    let body = app.gql(Some(&merchant.key), LIST, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["merchant"]["checkouts"].clone()
}

fn references(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["merchantReference"].as_str().unwrap().to_owned())
        .collect()
}

fn refs(range: impl Iterator<Item = usize>) -> Vec<String> {
    range.map(|i| format!("ref-{i}")).collect()
}

#[tokio::test]
async fn pages_forward_and_backward_through_all_checkouts() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let other = app.merchant("Other").await;
    seed(&app, &merchant, 7).await;
    create_checkout(&app, &other, checkout_input("foreign")).await;

    // Newest first by default.
    let first = page(&app, &merchant, json!({ "first": 3 })).await;
    assert_eq!(references(&first), refs([6, 5, 4].into_iter()));
    assert_eq!(first["totalCount"], 7);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);

    let second = page(
        &app,
        &merchant,
        json!({ "first": 3, "after": first["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(references(&second), refs([3, 2, 1].into_iter()));
    assert_eq!(second["pageInfo"]["hasPreviousPage"], true);
    let third = page(
        &app,
        &merchant,
        json!({ "first": 3, "after": second["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(references(&third), refs([0].into_iter()));
    assert_eq!(third["pageInfo"]["hasNextPage"], false);

    // Backward from the end of the second page.
    let back = page(
        &app,
        &merchant,
        json!({ "last": 2, "before": second["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(references(&back), refs([5, 4].into_iter()));
    assert_eq!(back["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(back["pageInfo"]["hasNextPage"], true);
    let last = page(&app, &merchant, json!({ "last": 2 })).await;
    assert_eq!(references(&last), refs([1, 0].into_iter()));

    // Oldest first.
    let ascending = page(
        &app,
        &merchant,
        json!({ "first": 2, "sort": { "field": "CREATED_AT", "direction": "ASC" } }),
    )
    .await;
    assert_eq!(references(&ascending), refs([0, 1].into_iter()));
    let next = page(
        &app,
        &merchant,
        json!({ "first": 10, "after": ascending["pageInfo"]["endCursor"],
        "sort": { "field": "CREATED_AT", "direction": "ASC" } }),
    )
    .await;
    assert_eq!(references(&next), refs(2..7));
}

#[tokio::test]
async fn filters_by_status_time_and_reference() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    seed(&app, &merchant, 5).await;
    // ref-i was created at 10:0i and expires an hour later; at 11:00 only ref-0 has expired.
    app.clock.advance(chrono::Duration::minutes(55));
    let cancel =
        "mutation($id: ID!) { cancelCheckout(input: { id: $id }) { userErrors { code } } }";
    let ref1 = page(
        &app,
        &merchant,
        json!({ "filter": { "merchantReference": "ref-1" } }),
    )
    .await;
    assert_eq!(references(&ref1), ["ref-1"]);
    let listed = app
        .gql(Some(&merchant.key), "query { merchant { checkouts(filter: { merchantReference: \"ref-1\" }) { nodes { id } } } }", json!({}))
        .await;
    let id_value = listed["data"]["merchant"]["checkouts"]["nodes"][0]["id"].clone();
    assert!(id_value.is_string(), "{listed}");
    let body = app
        .gql(Some(&merchant.key), cancel, json!({ "id": id_value }))
        .await;
    assert_eq!(body["data"]["cancelCheckout"]["userErrors"], json!([]));

    let by_status = |status: &str| json!({ "filter": { "status": status } });
    assert_eq!(
        references(&page(&app, &merchant, by_status("OPEN")).await),
        refs([4, 3, 2].into_iter())
    );
    assert_eq!(
        references(&page(&app, &merchant, by_status("EXPIRED")).await),
        ["ref-0"]
    );
    assert_eq!(
        references(&page(&app, &merchant, by_status("CANCELLED")).await),
        ["ref-1"]
    );
    assert_eq!(
        page(&app, &merchant, by_status("COMPLETED")).await["totalCount"],
        0
    );

    let window = json!({ "filter": { "createdAfter": "2027-01-31T10:01:00Z", "createdBefore": "2027-01-31T10:03:00Z" } });
    let found = page(&app, &merchant, window).await;
    assert_eq!(references(&found), refs([2, 1].into_iter()));
    assert_eq!(found["totalCount"], 2);

    // Filters combine with pagination.
    let open_first = page(
        &app,
        &merchant,
        json!({ "first": 2, "filter": { "status": "OPEN" } }),
    )
    .await;
    assert_eq!(references(&open_first), refs([4, 3].into_iter()));
    let open_next = page(
        &app,
        &merchant,
        json!({ "first": 2, "after": open_first["pageInfo"]["endCursor"],
        "filter": { "status": "OPEN" } }),
    )
    .await;
    assert_eq!(references(&open_next), ["ref-2"]);
    assert_eq!(open_next["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn sorts_by_expiry() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mut late = checkout_input("late");
    late["expiresAt"] = json!("2027-01-31T20:00:00Z");
    create_checkout(&app, &merchant, late).await;
    create_checkout(&app, &merchant, checkout_input("soon")).await;
    let sorted = page(
        &app,
        &merchant,
        json!({ "sort": { "field": "EXPIRES_AT", "direction": "ASC" } }),
    )
    .await;
    assert_eq!(references(&sorted), ["soon", "late"]);
}

#[tokio::test]
async fn bad_page_arguments_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    seed(&app, &merchant, 2).await;
    let first = page(&app, &merchant, json!({ "first": 1 })).await;
    let cursor = first["pageInfo"]["endCursor"].clone();
    for variables in [
        json!({ "first": 101 }),
        json!({ "first": -1 }),
        json!({ "first": 1, "last": 1 }),
        json!({ "after": "garbage" }),
        // A cursor from one sort is not valid in another.
        json!({ "after": cursor, "sort": { "direction": "ASC" } }),
    ] {
        let body = app.gql(Some(&merchant.key), LIST, variables.clone()).await;
        assert_eq!(
            error_codes(&body),
            ["BAD_USER_INPUT"],
            "{variables} → {body}"
        );
    }
}

#[tokio::test]
async fn listing_needs_a_merchant() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, LIST, json!({})).await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    assert_eq!(body["data"], Value::Null);
}

#[tokio::test]
async fn checkouts_created_in_the_same_instant_page_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    for i in 0..7 {
        create_checkout(&app, &merchant, checkout_input(&format!("tie-{i}"))).await;
    }
    let everything = references(&page(&app, &merchant, json!({ "first": 100 })).await);
    assert_eq!(everything.len(), 7);

    for size in 1..=3 {
        let mut forward = Vec::new();
        let mut after = Value::Null;
        loop {
            let next = page(&app, &merchant, json!({ "first": size, "after": after })).await;
            forward.extend(references(&next));
            if next["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = next["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(forward, everything, "forward pages of {size}");

        let mut backward = Vec::new();
        let mut before = Value::Null;
        loop {
            let previous = page(&app, &merchant, json!({ "last": size, "before": before })).await;
            let mut refs = references(&previous);
            refs.extend(backward);
            backward = refs;
            if previous["pageInfo"]["hasPreviousPage"] == false {
                break;
            }
            before = previous["pageInfo"]["startCursor"].clone();
        }
        assert_eq!(backward, everything, "backward pages of {size}");
    }
}

#[tokio::test]
async fn expired_checkouts_page_across_stored_and_lapsed_ones() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    // ref-i is created at 10:0i and expires at 11:0i.
    seed(&app, &merchant, 8).await;
    // The expiry job stores ref-0 … ref-2 as expired; ref-3 … ref-5 lapse after it ran.
    let report = app.run_jobs("2027-01-31T11:02:30Z").await;
    assert_eq!(report["expiredCheckouts"], 3, "{report}");
    app.clock
        .advance(chrono::Duration::minutes(57) + chrono::Duration::seconds(30));
    let expired = |extra: Value| {
        let mut variables = json!({ "filter": { "status": "EXPIRED" } });
        variables
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        page(&app, &merchant, variables)
    };

    let first = expired(json!({ "first": 4 })).await;
    assert_eq!(references(&first), refs([5, 4, 3, 2].into_iter()));
    assert_eq!(first["totalCount"], 6);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = expired(json!({ "first": 4, "after": first["pageInfo"]["endCursor"] })).await;
    assert_eq!(references(&rest), refs([1, 0].into_iter()));
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["pageInfo"]["hasPreviousPage"], true);

    let last = expired(json!({ "last": 4 })).await;
    assert_eq!(references(&last), refs([3, 2, 1, 0].into_iter()));
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    let before = expired(json!({ "last": 4, "before": last["pageInfo"]["startCursor"] })).await;
    assert_eq!(references(&before), refs([5, 4].into_iter()));
    assert_eq!(before["pageInfo"]["hasPreviousPage"], false);

    let oldest_first =
        expired(json!({ "first": 3, "sort": { "field": "EXPIRES_AT", "direction": "ASC" } })).await;
    assert_eq!(references(&oldest_first), refs(0..3));
    let open = page(&app, &merchant, json!({ "filter": { "status": "OPEN" } })).await;
    assert_eq!(references(&open), refs([7, 6].into_iter()));
}
