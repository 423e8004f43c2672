//! The hosted checkout page in a real browser that can reach nothing beyond this machine,
//! used as a shopper would: a whole purchase, a declined card, and a cancellation by the
//! merchant while the page is open. The merchant's site is a local web shop; the outcome
//! it receives is verified with the merchant's secret. Each step is photographed at
//! desktop and phone width (`UPDATE_SCREENSHOTS=1` writes them to `docs/screenshots/`).

use entity::order;
use paylater::graphql::ids::{NodeKind, encode};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    browser::{Browser, screenshot_path},
    helpers::{TestApp, TestMerchant, create_checkout},
    payment_methods::consumer,
    receiver::Shop,
    signed_returns::{Return, now, secret_of},
};

/// The merchant's name, as the page shows it.
const SHOP: &str = "Lovelace Sneakers";

/// A server serving its own checkout page, a merchant with its web shop, and an open
/// 85.00 EUR checkout whose confirm and cancel URLs are on that shop.
struct Scene {
    app: TestApp,
    shop: Shop,
    merchant: TestMerchant,
    checkout: Value,
}

impl Scene {
    async fn new() -> Self {
        let app = TestApp::spawn_with(|config| config.server.checkout_app_url = None).await;
        // Changes reach the page's live subscription as they commit, as in the server.
        app.start_relay();
        let shop = Shop::start().await;
        let merchant = app.merchant(SHOP).await;
        let eur = |amount: &str| json!({ "amount": amount, "currencyCode": "EUR" });
        // 119.90 + 2 × 7.50 + 4.90 shipping = 139.80 EUR: enough for every plan.
        let input = json!({
            "merchantReference": "order-1",
            "items": [
                { "name": "Running shoes", "sku": "RUN-42", "quantity": 1, "unitPrice": eur("119.90") },
                { "name": "Sport socks", "sku": "SOX-3", "quantity": 2, "unitPrice": eur("7.50") },
            ],
            "shipping": eur("4.90"),
            "total": eur("139.80"),
            "shopper": { "email": "ada@example.com", "givenName": "Ada" },
            "confirmUrl": shop.url("/paylater/confirm?cart=7"),
            "cancelUrl": shop.url("/paylater/cancel?cart=7"),
        });
        let checkout = create_checkout(&app, &merchant, input).await;
        Self {
            app,
            shop,
            merchant,
            checkout,
        }
    }

    /// Opens the checkout's URL and waits for the page to show it.
    async fn open(&self, browser: &Browser) {
        let url = self.checkout["checkoutUrl"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/checkout/ct_", self.app.base)));
        browser.open_url(url).await;
        browser
            .wait_for_text(&format!("Pay {SHOP} in instalments"))
            .await;
    }

    /// Waits until the browser is on the shop's page `path`, and returns the signed return
    /// it arrived with.
    async fn back_at_shop(&self, browser: &Browser, path: &str) -> Return {
        let page = self.shop.url(path);
        browser
            .wait_until(
                &format!("the shop's {path}"),
                &format!("return location.href.startsWith({page:?});"),
            )
            .await;
        browser.wait_for_text("Back at the shop").await;
        let visits = self.shop.visits();
        assert_eq!(visits.len(), 1, "{visits:?}");
        Return::parse(&self.shop.url(&visits[0]))
    }

    async fn status(&self) -> Value {
        let read = self
            .app
            .gql(
                None,
                "query($t: String!) { checkout(token: $t) { status } }",
                json!({ "t": self.checkout["checkoutToken"] }),
            )
            .await;
        read["data"]["checkout"]["status"].clone()
    }
}

/// Screenshots of the whole page at desktop (1280 px) and phone (390 px) width.
async fn photograph(browser: &Browser, step: &str) {
    for (width, device) in [(1280, "desktop"), (390, "phone")] {
        let path = screenshot_path(&format!("checkout-{step}-{device}.png"));
        browser.screenshot_page(&path, width).await;
    }
}

/// Types into the field labelled `label`, replacing what it holds.
async fn fill(browser: &Browser, label: &str, text: &str) {
    let field = browser.by_label(label).await;
    field.clear().await.expect("clear the field");
    field.send_keys(text).await.expect("type into the field");
}

/// Adds a sandbox card through the page's card form and waits for it to be chosen.
async fn add_card(browser: &Browser, number: &str, last4: &str) {
    fill(browser, "Card number", number).await;
    fill(browser, "Expiry (MM/YY)", "12/30").await;
    fill(browser, "Security code", "123").await;
    browser.click("button", "Save card").await;
    let card = format!("Visa ending {last4}");
    browser
        .wait_until(
            &format!("{card} to be saved and chosen"),
            &format!(
                "const card = document.querySelector(\"input[name='card']:checked\"); return card && card.labels[0].textContent === {card:?};"
            ),
        )
        .await;
}

/// Chooses `plan` and clicks the confirm button, whose label says what is paid today.
async fn confirm_with(browser: &Browser, plan: &str, due_today: &str) {
    browser.click("radio", plan).await;
    let label = browser
        .eval(
            "return document.getElementById('confirm').textContent;",
            vec![],
        )
        .await;
    let label = label.as_str().unwrap().to_owned();
    assert!(
        label.starts_with("Confirm and pay") && label.contains(due_today),
        "{label}"
    );
    browser.click("button", &label).await;
}

/// Every address the page has loaded or fetched.
async fn requests(browser: &Browser) -> Vec<String> {
    let names = browser
        .eval(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map((entry) => entry.name);",
            vec![],
        )
        .await;
    serde_json::from_value(names).unwrap()
}

#[tokio::test]
async fn a_purchase_through_the_hosted_page_ends_on_the_merchants_confirm_url_signed() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let scene = Scene::new().await;
    let secret = secret_of(&scene.app, &scene.merchant).await;
    scene.open(&browser).await;
    // The order, and each plan with its dated schedule (the test clock is at 2027-01-31).
    for text in [
        "Running shoes",
        "Sport socks",
        "€139.80",
        "Pay in 3",
        "Pay in 4",
        "Pay in 30 days",
        "Feb 28, 2027",
        "Apr 30, 2027",
    ] {
        browser.wait_for_text(text).await;
    }
    photograph(&browser, "1-plans").await;

    browser.click("button", "I'm new to paylater").await;
    fill(&browser, "Email", "grace@example.com").await;
    fill(&browser, "Choose a password", "correct horse battery").await;
    browser.click("button", "Create account").await;
    browser
        .wait_for_text("Signed in as grace@example.com")
        .await;
    photograph(&browser, "2-card").await;

    add_card(&browser, "4242 4242 4242 4242", "4242").await;
    browser.click("radio", "Pay in 3").await;
    photograph(&browser, "3-confirm").await;
    let elsewhere: Vec<String> = requests(&browser)
        .await
        .into_iter()
        .filter(|url| !url.starts_with(&format!("{}/", scene.app.base)))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "requests left the server: {elsewhere:?}"
    );
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
    confirm_with(&browser, "Pay in 3", "46.60").await;

    let back = scene.back_at_shop(&browser, "/paylater/confirm").await;
    assert_eq!(back.param("cart"), "7", "the shop's own parameter stays");
    assert_eq!(back.param("paylater_status"), "COMPLETED");
    assert_eq!(
        back.param("paylater_checkout_id"),
        scene.checkout["checkout"]["id"]
    );
    assert!(back.verifies(&secret, now(&scene.app)));
    let orders = order::Entity::find().all(&scene.app.db).await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        back.param("paylater_order_id"),
        encode(NodeKind::Order, orders[0].id).0
    );
    assert_eq!(scene.status().await, "COMPLETED");
    browser.close().await;
}

#[tokio::test]
async fn a_declined_card_is_said_next_to_the_card_and_the_checkout_stays_open() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let scene = Scene::new().await;
    consumer(&scene.app, "ada@example.com").await;
    scene.open(&browser).await;
    // The merchant's hint fills in the email; the shopper signs in with their password.
    let email = browser
        .eval(
            "return document.getElementById('login-email').value;",
            vec![],
        )
        .await;
    assert_eq!(email, "ada@example.com");
    fill(&browser, "Password", "correct horse battery").await;
    browser.click("button", "Sign in").await;
    browser.wait_for_text("Signed in as ada@example.com").await;

    add_card(&browser, "4000 0000 0000 0002", "0002").await;
    confirm_with(&browser, "Pay in 4", "34.95").await;
    browser
        .wait_for_text("Your card was declined. Try another card.")
        .await;
    let shown = browser
        .eval(
            "const error = document.getElementById('cards-error'); return [error.hidden, error.textContent, document.getElementById('cards').getAttribute('aria-describedby')];",
            vec![],
        )
        .await;
    assert_eq!(
        shown,
        json!([
            false,
            "Your card was declined. Try another card.",
            "cards-error"
        ]),
        "the message is next to the cards, which it describes"
    );
    assert_eq!(scene.status().await, "OPEN");
    assert!(
        order::Entity::find()
            .all(&scene.app.db)
            .await
            .unwrap()
            .is_empty()
    );
    photograph(&browser, "4-declined").await;

    // The checkout stays open: another card pays.
    browser.click("button", "Add another card").await;
    add_card(&browser, "4242 4242 4242 4242", "4242").await;
    confirm_with(&browser, "Pay in 4", "34.95").await;
    let back = scene.back_at_shop(&browser, "/paylater/confirm").await;
    assert_eq!(back.param("paylater_status"), "COMPLETED");
    assert_eq!(scene.status().await, "COMPLETED");
    browser.close().await;
}

#[tokio::test]
async fn a_cancellation_by_the_merchant_shows_on_the_open_page_at_once() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let scene = Scene::new().await;
    let secret = secret_of(&scene.app, &scene.merchant).await;
    scene.open(&browser).await;
    // The page follows the checkout live before the merchant acts.
    scene.app.listening(1).await;

    let cancelled = scene
        .app
        .gql(
            Some(&scene.merchant.key),
            "mutation($i: CancelCheckoutInput!) { cancelCheckout(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": scene.checkout["checkout"]["id"], "reason": "Out of stock" } }),
        )
        .await;
    assert_eq!(cancelled["data"]["cancelCheckout"]["userErrors"], json!([]));
    browser
        .wait_for_text(&format!("{SHOP} cancelled this checkout"))
        .await;
    browser.wait_for_text("“Out of stock”").await;
    let told = browser
        .wait_until(
            "the status region and focus to follow",
            "const status = document.getElementById('status').textContent; return status.includes('cancelled') && document.activeElement.id;",
        )
        .await;
    assert_eq!(told, "ended-title", "focus moves to what happened");
    photograph(&browser, "5-cancelled").await;

    browser.click("link", &format!("Back to {SHOP}")).await;
    let back = scene.back_at_shop(&browser, "/paylater/cancel").await;
    assert_eq!(back.param("paylater_status"), "CANCELLED");
    assert_eq!(back.param("paylater_order_id"), "");
    assert!(back.verifies(&secret, now(&scene.app)));
    browser.close().await;
}
