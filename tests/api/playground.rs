//! The GraphiQL playground in a real browser that can reach nothing beyond this machine:
//! it loads, documents the schema, and runs its example with the demo key.

use serde_json::{Value, json};

use crate::{
    browser::{Browser, screenshot_path},
    helpers::TestApp,
};

#[tokio::test]
async fn the_playground_runs_its_example_offline() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn_with(|config| config.database.seed_demo = true).await;
    paylater::demo::seed(&app.state.deps)
        .await
        .expect("demo data");

    // The page may load from this server only, and runs no inline script.
    let policy = paylater::http::security::PLAYGROUND_CSP;
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(
        !policy.contains("unsafe") && !policy.contains("http"),
        "{policy}"
    );

    browser.open(&app, "/graphql").await;
    browser.click("button", "Show Documentation Explorer").await;
    browser.click("link", "Checkout").await;
    browser
        .wait_for_text("A merchant's request for payment")
        .await;
    browser
        .screenshot(&screenshot_path("playground-docs.png"))
        .await;
    browser.click("button", "Hide Documentation Explorer").await;

    browser.click("button", "Execute query (Ctrl-Enter)").await;
    browser.wait_for_text("\"checkoutToken\": \"ct_").await;
    browser.screenshot(&screenshot_path("playground.png")).await;

    // The checkout it made is real: the checkout app can read it by its token.
    let shown = browser
        .eval(
            "return document.body.innerText.match(/\"checkoutToken\": \"(ct_[^\"]+)\"/)[1];",
            vec![],
        )
        .await;
    let token = shown.as_str().expect("a token on the page");
    let read = app
        .gql(
            None,
            "query($t: String!) { checkout(token: $t) { status merchant { name } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        read["data"]["checkout"],
        json!({ "status": "OPEN", "merchant": { "name": "Demo Shop" } })
    );

    // Every request went to this server: the page's resources, the schema, the mutation.
    let requests = browser
        .eval(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map((entry) => entry.name);",
            vec![],
        )
        .await;
    let requests: Vec<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(requests.len() >= 8, "{requests:?}");
    let elsewhere: Vec<_> = requests
        .iter()
        .filter(|url| !url.starts_with(&format!("{}/", app.base)))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "requests left the server: {elsewhere:?}"
    );
    assert_eq!(browser.console_errors().await, Vec::<String>::new());

    // The policy lets the page open its WebSocket, which accepts the demo key.
    let socket = browser
        .eval_async(
            r#"
            const done = arguments[arguments.length - 1];
            const url = location.origin.replace(/^http/, "ws") + "/graphql/ws";
            const socket = new WebSocket(url, "graphql-transport-ws");
            const config = JSON.parse(document.getElementById("playground-config").textContent);
            socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init", payload: config.headers }));
            socket.onmessage = (message) => { done(JSON.parse(message.data).type); socket.close(); };
            socket.onerror = () => done("error");
            "#,
        )
        .await;
    assert_eq!(socket, "connection_ack");

    browser.close().await;
}
