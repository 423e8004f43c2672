//! The `paylater` command line, run as a real process.

use std::process::{Command, Output};

use serde_json::Value;

fn paylater(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paylater"));
    command
        .args(args)
        .env_remove("APP_ENV")
        .env_remove("DATABASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run paylater")
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display())
}

#[tokio::test]
async fn merchant_create_prints_an_id_and_a_working_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let output = paylater(
        &["merchant", "create", "--name", "Corner Shop", "--json"],
        &[("DATABASE_URL", &url)],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(created["name"], "Corner Shop");
    let key = created["apiKey"].as_str().unwrap();
    assert!(key.starts_with("sk_test_"));
    assert!(key.starts_with(created["apiKeyPrefix"].as_str().unwrap()));
    let id = created["merchantId"].as_str().unwrap();
    let db = paylater::db::connect(&url, 1).await.unwrap();
    let config = paylater::config::Config::default();
    let clock = std::sync::Arc::new(paylater::clock::SystemClock);
    let state = paylater::app::AppState::new(config, db, clock).unwrap();
    let principal = paylater::service::merchants::authenticate(&state.deps, key)
        .await
        .unwrap()
        .expect("key works")
        .principal;
    assert_eq!(
        paylater::graphql::ids::encode(
            paylater::graphql::ids::NodeKind::Merchant,
            principal.merchant_id
        )
        .0,
        id
    );

    let blank = paylater(
        &["merchant", "create", "--name", "  "],
        &[("DATABASE_URL", &url)],
    );
    assert!(!blank.status.success());
    assert!(String::from_utf8_lossy(&blank.stderr).contains("merchant name"));
}

/// The stored maximum checkout total of a merchant, in hundredths of a major unit.
async fn stored_maximum(url: &str, merchant_id: &str) -> Option<i64> {
    let db = paylater::db::connect(url, 1).await.unwrap();
    let id = paylater::graphql::ids::decode(
        &async_graphql::ID(merchant_id.to_owned()),
        paylater::graphql::ids::NodeKind::Merchant,
    )
    .unwrap();
    use sea_orm::EntityTrait;
    entity::merchant::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .expect("merchant row")
        .max_checkout_total_minor
}

#[tokio::test]
async fn merchant_maximum_checkout_totals_are_set_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("PAYLATER_MAX_CHECKOUT_TOTAL", "1000"),
    ];
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = |output: &Output| String::from_utf8_lossy(&output.stdout).into_owned();

    let output = paylater(
        &[
            "merchant",
            "create",
            "--name",
            "Careful Shop",
            "--max-checkout-total",
            "500",
            "--json",
        ],
        &env,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let created: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(created["maxCheckoutTotal"], "500");
    let id = created["merchantId"].as_str().unwrap().to_owned();
    assert_eq!(stored_maximum(&url, &id).await, Some(50_000));

    let lowered = paylater(&["merchant", "set-max-checkout-total", &id, "200"], &env);
    assert!(lowered.status.success(), "{}", stderr(&lowered));
    assert!(
        stdout(&lowered).contains("maximum checkout total 200"),
        "{}",
        stdout(&lowered)
    );
    assert_eq!(stored_maximum(&url, &id).await, Some(20_000));

    // Only ever below the platform maximum (here 1000), and a positive whole number.
    let above = paylater(&["merchant", "set-max-checkout-total", &id, "1001"], &env);
    assert!(!above.status.success());
    assert!(
        stderr(&above).contains("platform maximum of 1000"),
        "{}",
        stderr(&above)
    );
    for bad in ["0", "12.50", "1e3", "lots"] {
        let refused = paylater(&["merchant", "set-max-checkout-total", &id, bad], &env);
        assert!(!refused.status.success(), "{bad}");
        assert!(
            stderr(&refused).contains("expected a positive whole number of major units, or none"),
            "{bad}: {}",
            stderr(&refused)
        );
    }
    let zero = paylater(
        &[
            "merchant",
            "create",
            "--name",
            "Zero Shop",
            "--max-checkout-total",
            "0",
        ],
        &env,
    );
    assert!(!zero.status.success());
    let too_high = paylater(
        &[
            "merchant",
            "create",
            "--name",
            "Greedy Shop",
            "--max-checkout-total",
            "5000",
        ],
        &env,
    );
    assert!(!too_high.status.success());
    assert!(stderr(&too_high).contains("platform maximum of 1000"));
    assert_eq!(stored_maximum(&url, &id).await, Some(20_000));

    let unknown = paylater(
        &[
            "merchant",
            "set-max-checkout-total",
            "0196a000-0000-7000-8000-000000000000",
            "10",
        ],
        &env,
    );
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no merchant"),
        "{}",
        stderr(&unknown)
    );
    let garbage = paylater(&["merchant", "set-max-checkout-total", "shop", "10"], &env);
    assert!(stderr(&garbage).contains("is not a merchant ID"));

    let cleared = paylater(
        &["merchant", "set-max-checkout-total", &id, "none", "--json"],
        &env,
    );
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    let described: Value = serde_json::from_slice(&cleared.stdout).expect("JSON on stdout");
    assert_eq!(described["maxCheckoutTotal"], Value::Null);
    assert_eq!(described["effectiveMaxCheckoutTotal"], "1000");
    assert_eq!(stored_maximum(&url, &id).await, None);

    // The platform maximum itself is validated.
    let bad_platform = paylater(
        &["migrate"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("PAYLATER_MAX_CHECKOUT_TOTAL", "0"),
        ],
    );
    assert!(!bad_platform.status.success());
    assert!(
        stderr(&bad_platform).contains(
            "max_checkout_total must be a whole number of major units between 1 and 1000000000"
        ),
        "{}",
        stderr(&bad_platform)
    );
}

#[test]
fn seed_demo_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    for _ in 0..2 {
        let output = paylater(&["seed-demo"], &[("DATABASE_URL", &url)]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(paylater::auth::api_key::DEMO_API_KEY)
        );
    }
}

#[test]
fn production_refuses_development_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let output = paylater(
        &["migrate"],
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", &url),
            ("PAYLATER_SEED_DEMO", "true"),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seed_demo"), "{stderr}");
    assert!(stderr.contains("jwt_keys"), "{stderr}");
    assert!(stderr.contains("encryption.keys"), "{stderr}");
    assert!(stderr.contains("gateway.kind"), "{stderr}");
    assert!(
        stderr.contains("checkout_app_url must use https"),
        "{stderr}"
    );

    // Everything else set as production needs it.
    let key_file = dir.path().join("signing.pem");
    std::fs::write(&key_file, crate::helpers::new_signing_key().0).unwrap();
    let keys = format!(
        "[{{kid=\"k1\", private_key_file=\"{}\"}}]",
        key_file.display()
    );
    let encryption = format!("[{{id=\"k1\", key_hex=\"{}\"}}]", "cd".repeat(32));
    let lookup = "ab".repeat(32);
    let production = [
        ("APP_ENV", "production"),
        ("DATABASE_URL", url.as_str()),
        ("PAYLATER_CHECKOUT_APP_URL", "https://pay.example/c"),
        ("PAYLATER_JWT_KEYS", keys.as_str()),
        ("PAYLATER_ENCRYPTION_KEYS", encryption.as_str()),
        ("PAYLATER_ENCRYPTION_LOOKUP_KEY", lookup.as_str()),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = production.to_vec();
        env.extend_from_slice(extra);
        env
    };

    // The sandbox takes no real money: production refuses it, even named explicitly.
    let sandbox = paylater(
        &["migrate"],
        &with(&[("PAYLATER_PAYMENT_GATEWAY", "sandbox")]),
    );
    assert!(!sandbox.status.success());
    let stderr = String::from_utf8_lossy(&sandbox.stderr);
    assert!(
        stderr.contains("production refuses the sandbox gateway"),
        "{stderr}"
    );
    assert!(!stderr.contains("seed_demo"), "{stderr}");

    let keyless = paylater(
        &["migrate"],
        &with(&[("PAYLATER_PAYMENT_GATEWAY", "stripe")]),
    );
    assert!(!keyless.status.success());
    assert!(String::from_utf8_lossy(&keyless.stderr).contains("stripe_secret_key"));

    let stripe = [
        ("PAYLATER_PAYMENT_GATEWAY", "stripe"),
        ("PAYLATER_STRIPE_SECRET_KEY", "sk_live_paylater_cli_test"),
    ];
    let plain_http = paylater(
        &["migrate"],
        &with(&[
            stripe[0],
            stripe[1],
            ("PAYLATER_STRIPE_API_BASE", "http://api.stripe.com"),
        ]),
    );
    assert!(!plain_http.status.success());
    assert!(String::from_utf8_lossy(&plain_http.stderr).contains("stripe_api_base must use https"));

    // Production turns webhook URL checks on; turned off explicitly, they are refused.
    for variable in [
        "PAYLATER_WEBHOOKS_HTTPS_ONLY",
        "PAYLATER_WEBHOOKS_PUBLIC_ADDRESSES_ONLY",
    ] {
        let unchecked = paylater(
            &["migrate"],
            &with(&[stripe[0], stripe[1], (variable, "false")]),
        );
        assert!(!unchecked.status.success());
        let stderr = String::from_utf8_lossy(&unchecked.stderr);
        assert!(
            stderr.contains("cannot be turned off in production"),
            "{variable}: {stderr}"
        );
    }

    let migrated = paylater(&["migrate"], &with(&stripe));
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    // A configuration production accepts still refuses demo data.
    let seed = paylater(&["seed-demo"], &with(&stripe));
    assert!(!seed.status.success());
    let stderr = String::from_utf8_lossy(&seed.stderr);
    assert!(stderr.contains("development only"), "{stderr}");
    for output in [&sandbox, &keyless, &plain_http, &migrated, &seed] {
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!printed.contains("paylater_cli_test"), "{printed}");
    }
}

#[test]
fn bad_configuration_is_reported_clearly() {
    let output = paylater(
        &["migrate"],
        &[
            ("PAYLATER_CHECKOUT_TTL_MINUTES", "1"),
            ("DATABASE_URL", "postgres://x"),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("checkout_ttl_minutes must be between 5 and 2880"),
        "{stderr}"
    );
    assert!(
        stderr.contains("DATABASE_URL must start with sqlite: or mysql:"),
        "{stderr}"
    );
}

#[test]
fn a_bad_or_unknown_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    for (variable, value) in [
        ("PAYLATER_DATABASE_MAX_CONNECTIONS", "many"),
        ("PAYLATER_CHEKOUT_TTL_MINUTES", "30"),
    ] {
        let output = paylater(&["migrate"], &[("DATABASE_URL", &url), (variable, value)]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.to_ascii_uppercase().contains(variable), "{stderr}");
    }
}

#[test]
fn export_schema_prints_the_served_schema() {
    let output = paylater(&["export-schema"], &[]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        paylater::graphql::sdl()
    );
}

#[test]
fn a_config_file_is_read_and_the_environment_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let file = dir.path().join("paylater.toml");
    std::fs::write(
        &file,
        "[server]\nbody_limit_bytes = 10\n[limits]\ncheckout_ttl_minutes = 1\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();

    let refused = paylater(
        &["migrate"],
        &[("PAYLATER_CONFIG", config), ("DATABASE_URL", &url)],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("checkout_ttl_minutes") && stderr.contains("body_limit_bytes"),
        "{stderr}"
    );

    let fixed = paylater(
        &["migrate"],
        &[
            ("PAYLATER_CONFIG", config),
            ("DATABASE_URL", &url),
            ("PAYLATER_CHECKOUT_TTL_MINUTES", "30"),
            ("PAYLATER_BODY_LIMIT_BYTES", "4096"),
        ],
    );
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );

    // A misspelt key, or one outside its section, is refused by name.
    for (contents, named) in [
        (
            "[limits]\nchekout_ttl_minutes = 30\n",
            "chekout_ttl_minutes",
        ),
        ("checkout_ttl_minutes = 30\n", "checkout_ttl_minutes"),
    ] {
        std::fs::write(&file, contents).unwrap();
        let refused = paylater(
            &["migrate"],
            &[("PAYLATER_CONFIG", config), ("DATABASE_URL", &url)],
        );
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains(named));
    }

    // The database URL may come from the file too.
    std::fs::write(&file, format!("[database]\nurl = \"{url}\"\n")).unwrap();
    let from_file = paylater(&["migrate"], &[("PAYLATER_CONFIG", config)]);
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    assert!(String::from_utf8_lossy(&from_file.stdout).contains(&url));

    let missing = paylater(
        &["migrate"],
        &[
            ("PAYLATER_CONFIG", "/nonexistent.toml"),
            ("DATABASE_URL", &url),
        ],
    );
    assert!(!missing.status.success());
}

#[test]
fn rotate_keys_re_encrypts_under_the_new_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let seeded = paylater(&["seed-demo"], &[("DATABASE_URL", &url)]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let keys = format!(
        "[{{id=\"k2\", key_hex=\"{}\"}}, {{id=\"dev\", key_hex=\"{}\"}}]",
        "ef".repeat(32),
        paylater::encryption::DEV_KEY_HEX
    );
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("PAYLATER_ENCRYPTION_KEYS", keys.as_str()),
    ];
    let first = paylater(&["rotate-keys"], &env);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The demo consumer's email and two names, and the demo merchant's return signing
    // secret.
    assert!(String::from_utf8_lossy(&first.stdout).contains("re-encrypted 4 values"));
    let again = paylater(&["rotate-keys"], &env);
    assert!(String::from_utf8_lossy(&again.stdout).contains("re-encrypted 0 values"));
}

#[tokio::test]
async fn admin_create_prints_credentials_that_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let output = paylater(
        &[
            "admin",
            "create",
            "--email",
            "Root@Paylater.test",
            "--role",
            "admin",
            "--json",
        ],
        &[("DATABASE_URL", &url)],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(created["email"], "root@paylater.test");
    assert_eq!(created["role"], "admin");
    let secret = created["totpSecret"].as_str().unwrap();
    assert!(
        created["totpUri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/paylater:root%40paylater.test?secret="),
        "{created}"
    );

    let db = paylater::db::connect(&url, 1).await.unwrap();
    let clock = std::sync::Arc::new(paylater::clock::SystemClock);
    let state =
        paylater::app::AppState::new(paylater::config::Config::default(), db, clock).unwrap();
    let now = chrono::Utc::now();
    let session = paylater::service::staff::login(
        &state.deps,
        &paylater::service::audit::Actor::anonymous(None),
        "root@paylater.test",
        created["password"].as_str().unwrap(),
        &paylater::auth::totp::code_at(secret, now).unwrap(),
    )
    .await
    .expect("the printed credentials sign in");
    assert_eq!(
        session.member.role,
        paylater::domain::staff::StaffRole::Admin
    );

    let again = paylater(
        &["admin", "create", "--email", "root@paylater.test"],
        &[("DATABASE_URL", &url)],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let bad_role = paylater(
        &[
            "admin",
            "create",
            "--email",
            "x@paylater.test",
            "--role",
            "root",
        ],
        &[("DATABASE_URL", &url)],
    );
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("admin or support"));
}

/// `paylater healthcheck` against a live server (its address from the configuration, as a
/// container's health check runs it), a path that fails, a port nobody serves and a server
/// that never answers.
#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_zero_only_when_the_server_answers() {
    // The test's own thread blocks on each probe while the server runs on the workers.
    let app = crate::helpers::TestApp::spawn().await;
    let port = app.state.config.server.listen.port();
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();

    // Bound to every address, the server is probed over loopback.
    let unspecified = format!("0.0.0.0:{port}");
    let up = paylater(&["healthcheck"], &[("PAYLATER_LISTEN", &unspecified)]);
    assert!(up.status.success(), "{}", stderr(&up));
    assert!(up.stdout.is_empty() && up.stderr.is_empty());
    let ready = paylater(
        &["healthcheck", "--url", &format!("{}/readyz", app.base)],
        &[],
    );
    assert!(ready.status.success(), "{}", stderr(&ready));

    let missing = format!("{}/no-such-probe", app.base);
    let not_found = paylater(&["healthcheck", "--url", &missing], &[]);
    assert!(!not_found.status.success());
    assert!(
        stderr(&not_found).contains("answered 404"),
        "{}",
        stderr(&not_found)
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = closed.local_addr().unwrap().to_string();
    drop(closed);
    let down = paylater(&["healthcheck"], &[("PAYLATER_LISTEN", &nobody)]);
    assert!(!down.status.success());
    assert!(
        stderr(&down).contains("did not answer"),
        "{}",
        stderr(&down)
    );

    // Connections to it are accepted by the kernel, and never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/healthz", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let hung = paylater(
        &[
            "healthcheck",
            "--url",
            &silent_url,
            "--timeout-seconds",
            "1",
        ],
        &[],
    );
    assert!(!hung.status.success());
    assert!(
        stderr(&hung).contains("did not answer"),
        "{}",
        stderr(&hung)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// A server speaking TLS itself is probed over https at its loopback address, whose name
/// its certificate cannot carry.
#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_probes_a_tls_server_over_https() {
    let certified = rcgen::generate_simple_self_signed(vec!["pay.example".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();
    let app = crate::helpers::TestApp::spawn_with(|config| {
        config.server.tls_cert_file = Some(cert_file.clone());
        config.server.tls_key_file = Some(key_file.clone());
    })
    .await;
    let listen = app.state.config.server.listen.to_string();
    let (cert, key) = (
        cert_file.display().to_string(),
        key_file.display().to_string(),
    );
    let output = paylater(
        &["healthcheck"],
        &[
            ("PAYLATER_LISTEN", &listen),
            ("PAYLATER_TLS_CERT_FILE", &cert),
            ("PAYLATER_TLS_KEY_FILE", &key),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
