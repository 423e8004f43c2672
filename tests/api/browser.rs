//! Browser tests: headless Chromium, driven over WebDriver (`fantoccini`), against a
//! [`TestApp`].
//!
//! [`Browser::start`] runs a chromedriver of its own on a free port and a Chromium with a
//! fresh profile that reaches loopback addresses only (everything else goes to a proxy
//! that is not there), so a page passes only if the server under test serves all of it.
//! Without Chromium and chromedriver on the `PATH` it prints why and returns `None`, and
//! the test returns early; with `PAYLATER_BROWSER_TESTS=required` (CI sets it) a missing
//! browser fails the test instead.
//!
//! Finding and waiting go by what a user sees: an element by its role and accessible name
//! or a field by its label, text on the page. Each waits for its condition up to
//! [`PATIENCE`] and then fails loudly, with a screenshot and the page's text.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// How long a wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How often a waiting condition is checked again.
const POLL: Duration = Duration::from_millis(100);

/// The window size of every session: a desktop browser.
pub const WINDOW: (u32, u32) = (1440, 900);

/// The variable that makes a missing browser a failure rather than a skip.
const REQUIRED_VARIABLE: &str = "PAYLATER_BROWSER_TESTS";

/// The key WebDriver marks element references with in script results.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Browser executables looked for on the `PATH`, in order.
const BROWSERS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// A headless Chromium session with its own chromedriver and profile.
pub struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// `name` found on the `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The build directory, where screenshots that are not part of the docs go.
fn build_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Where failure screenshots go.
fn failure_dir() -> PathBuf {
    build_dir().join("browser-failures")
}

/// Where a test's screenshot `name` goes: `docs/screenshots/` with `UPDATE_SCREENSHOTS=1`
/// (to refresh the pictures the docs show), the build directory otherwise, so a plain test
/// run leaves the sources alone.
pub fn screenshot_path(name: &str) -> PathBuf {
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/screenshots")
            .join(name)
    } else {
        build_dir().join("browser-screenshots").join(name)
    }
}

impl Browser {
    /// Starts chromedriver and a browser session, or, with no browser installed, says so
    /// and returns `None` (a failure when `PAYLATER_BROWSER_TESTS=required`).
    pub async fn start() -> Option<Self> {
        let browser = BROWSERS.iter().find_map(|name| on_path(name));
        let driver = on_path("chromedriver");
        let (Some(browser), Some(driver)) = (browser, driver) else {
            let missing = "no Chromium and chromedriver on the PATH (Debian: apt-get install chromium chromium-driver)";
            let required = std::env::var(REQUIRED_VARIABLE).is_ok_and(|value| value == "required");
            assert!(!required, "{REQUIRED_VARIABLE}=required, but {missing}");
            eprintln!(
                "skipping a browser test: {missing}; set {REQUIRED_VARIABLE}=required to fail instead"
            );
            return None;
        };
        Some(Self::launch(&browser, &driver).await)
    }

    async fn launch(browser: &Path, driver: &Path) -> Self {
        let port = free_port();
        let mut command = Command::new(driver);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that dropping the session ends the browser with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile directory");
        let webdriver = format!("http://127.0.0.1:{port}");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    // Loopback is always reached directly; every other host goes to a proxy
                    // that is not there, so nothing can load from elsewhere.
                    format!("--proxy-server=http://127.0.0.1:{}", free_port()),
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        // chromedriver takes a moment to listen: connect until it answers.
        let mut waited = Duration::ZERO;
        let client = loop {
            match builder.connect(&webdriver).await {
                Ok(client) => break client,
                Err(err) => {
                    assert!(
                        waited < PATIENCE,
                        "no browser session from chromedriver at {webdriver}: {err}"
                    );
                    pause(&mut waited).await;
                }
            }
        };
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Opens `path` of `app` and waits until the page has loaded.
    pub async fn open(&self, app: &TestApp, path: &str) {
        self.open_url(&format!("{}{path}", app.base)).await;
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn open_url(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("open {url}: {err}"));
        self.wait_until(
            &format!("{url} to load"),
            "return document.readyState === 'complete';",
        )
        .await;
    }

    /// Runs `script` (a function body, `arguments` holding `args`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|err| panic!("script failed: {err}\n{script}"))
    }

    /// Runs `script` (a function body) in the page and waits for it to call its last
    /// argument, the callback, with the result (up to [`PATIENCE`]).
    pub async fn eval_async(&self, script: &str) -> Value {
        let run = self.client.execute_async(script, Vec::new());
        match tokio::time::timeout(PATIENCE, run).await {
            Ok(Ok(value)) => value,
            Ok(Err(err)) => panic!("script failed: {err}\n{script}"),
            Err(_) => self.fail("an asynchronous script to finish").await,
        }
    }

    /// Waits until `script` (a function body) returns something truthy, and returns it;
    /// after [`PATIENCE`], fails with a screenshot, saying it waited for `what`.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        self.wait_for(what, script, Vec::new()).await
    }

    async fn wait_for(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let mut waited = Duration::ZERO;
        loop {
            let value = self.eval(script, args.clone()).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            if truthy {
                return value;
            }
            if waited >= PATIENCE {
                self.fail(what).await;
            }
            pause(&mut waited).await;
        }
    }

    /// Fails the test, leaving a screenshot and the page's text to see why.
    async fn fail(&self, what: &str) -> ! {
        let name: String = what
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(80)
            .collect();
        let shot = failure_dir().join(format!("{name}.png"));
        let saved = match self.client.screenshot().await {
            Ok(png) => std::fs::create_dir_all(failure_dir())
                .and_then(|()| std::fs::write(&shot, png))
                .map(|()| format!("screenshot: {}", shot.display()))
                .unwrap_or_else(|err| format!("no screenshot: {err}")),
            Err(err) => format!("no screenshot: {err}"),
        };
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .ok()
            .and_then(|text| {
                text.as_str()
                    .map(|text| text.chars().take(2000).collect::<String>())
            })
            .unwrap_or_default();
        panic!("waited {PATIENCE:?} for {what}; {saved}\npage text:\n{text}");
    }

    /// Waits for `text` to show anywhere on the page.
    pub async fn wait_for_text(&self, text: &str) {
        self.wait_for(
            &format!("the text {text:?}"),
            "return document.body && document.body.innerText.includes(arguments[0]);",
            vec![json!(text)],
        )
        .await;
    }

    /// Waits for a visible element of `role` (ARIA role, explicit or implied by its tag:
    /// button, link, textbox, checkbox, radio, combobox, heading, tab, listitem…) whose
    /// accessible name (aria-label, aria-labelledby, label, title, or text) is `name`.
    pub async fn by_role(&self, role: &str, name: &str) -> Element {
        let found = self
            .wait_for(
                &format!("a {role} named {name:?}"),
                FIND_BY_ROLE,
                vec![json!(role), json!(name)],
            )
            .await;
        self.element(found)
    }

    /// Waits for the visible form field labelled `label`.
    pub async fn by_label(&self, label: &str) -> Element {
        let found = self
            .wait_for(
                &format!("a field labelled {label:?}"),
                FIND_BY_LABEL,
                vec![json!(label)],
            )
            .await;
        self.element(found)
    }

    /// Clicks the element of `role` named `name`, once it shows.
    pub async fn click(&self, role: &str, name: &str) {
        self.by_role(role, name)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click the {role} {name:?}: {err}"));
    }

    /// Types `text` into the field labelled `label`, once it shows.
    pub async fn type_into(&self, label: &str, text: &str) {
        self.by_label(label)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("type into {label:?}: {err}"));
    }

    /// Saves a screenshot of the window as PNG at `path`, creating its directory.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    }

    /// Saves a screenshot of the whole page as it shows `width` CSS pixels wide (a phone's
    /// below 600: touch, the mobile viewport), at `path`; the window is as before after.
    pub async fn screenshot_page(&self, path: &Path, width: u32) {
        let metrics = |height: u64| json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 });
        self.cdp("Emulation.setDeviceMetricsOverride", metrics(800))
            .await;
        let height = self
            .eval("return document.documentElement.scrollHeight;", vec![])
            .await
            .as_u64()
            .unwrap_or(800);
        self.cdp("Emulation.setDeviceMetricsOverride", metrics(height))
            .await;
        self.screenshot(path).await;
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
    }

    /// Runs a Chrome DevTools Protocol command (`Domain.method`) in the page.
    async fn cdp(&self, command: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Chromedriver {
                path: "goog/cdp/execute",
                body: json!({ "cmd": command, "params": params }),
            })
            .await
            .unwrap_or_else(|err| panic!("{command}: {err}"))
    }

    /// Ends the session (closing the browser) and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.stop_driver();
    }

    /// The errors the page logged to its console since the last call: failed loads,
    /// Content-Security-Policy refusals, uncaught exceptions, `console.error`.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(Chromedriver {
                path: "se/log",
                body: json!({ "type": "browser" }),
            })
            .await
            .expect("read the console log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter_map(|entry| entry["message"].as_str().map(str::to_owned))
            .collect()
    }

    fn element(&self, found: Value) -> Element {
        let id = found[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not an element: {found}"));
        Element::from_element_id(self.client.clone(), id.to_owned().into())
    }

    fn stop_driver(&mut self) {
        #[cfg(unix)]
        if let Ok(group) = i32::try_from(self.driver.id()) {
            // The whole group: chromedriver and the browser it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    /// A test that panicked never closed its session: end the processes anyway.
    fn drop(&mut self) {
        self.stop_driver();
    }
}

/// A chromedriver command of its own, beyond WebDriver: a POST of `body` to
/// `session/<id>/<path>` (`se/log` for the console log, `goog/cdp/execute` for a Chrome
/// DevTools Protocol command).
#[derive(Debug)]
struct Chromedriver {
    path: &'static str,
    body: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Chromedriver {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.body.to_string()))
    }
}

/// One poll interval of a wait, counted.
async fn pause(waited: &mut Duration) {
    tokio::time::sleep(POLL).await;
    *waited += POLL;
}

/// The script finding a visible element by role and accessible name (`arguments[0]`,
/// `arguments[1]`); null when there is none yet.
const FIND_BY_ROLE: &str = r#"
const [role, name] = arguments;
const implied = {
  button: 'button, input[type=button], input[type=submit], input[type=reset]',
  link: 'a[href]',
  textbox: 'input:not([type]), input[type=text], input[type=email], input[type=password], input[type=search], input[type=tel], input[type=url], input[type=number], textarea',
  checkbox: 'input[type=checkbox]',
  radio: 'input[type=radio]',
  combobox: 'select',
  heading: 'h1, h2, h3, h4, h5, h6',
  listitem: 'li',
  list: 'ul, ol',
  img: 'img[alt]',
};
const normalize = (text) => (text || '').replace(/\s+/g, ' ').trim();
const labelOf = (element) => {
  if (element.getAttribute('aria-label')) return element.getAttribute('aria-label');
  const by = element.getAttribute('aria-labelledby');
  if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent).join(' ');
  if (element.labels && element.labels.length) return element.labels[0].textContent;
  if (element.getAttribute('alt')) return element.getAttribute('alt');
  return element.textContent || element.getAttribute('title') || element.getAttribute('placeholder');
};
const visible = (element) => element.getClientRects().length > 0;
const selector = `[role="${role}"]` + (implied[role] ? `, ${implied[role]}` : '');
return [...document.querySelectorAll(selector)].find(
  (element) => visible(element) && normalize(labelOf(element)) === normalize(name)
    && (!element.getAttribute('role') || element.getAttribute('role') === role)
) || null;
"#;

/// The script finding a visible form field by its label (`arguments[0]`): a `<label>`
/// (by `for` or around it), `aria-label`, `aria-labelledby` or a placeholder.
const FIND_BY_LABEL: &str = r#"
const wanted = arguments[0].replace(/\s+/g, ' ').trim();
const normalize = (text) => (text || '').replace(/\s+/g, ' ').trim();
const fields = [...document.querySelectorAll('input, textarea, select, [contenteditable=true], [role=textbox]')];
return fields.find((field) => {
  if (!field.getClientRects().length) return false;
  const names = [
    ...[...(field.labels || [])].map((label) => label.textContent),
    field.getAttribute('aria-label'),
    ...(field.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent),
    field.getAttribute('placeholder'),
  ];
  return names.some((name) => normalize(name) === wanted);
}) || null;
"#;

#[tokio::test]
async fn a_page_is_used_as_a_person_would() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let page = r#"<!DOCTYPE html><title>form</title>
        <label for="email">Email</label><input id="email">
        <label>Card number <input name="number"></label>
        <button type="button" onclick="setTimeout(() => {
            document.getElementById('out').textContent = 'Thanks, ' + email.value + ' ' + document.querySelector('[name=number]').value;
        }, 300)">Continue</button>
        <p id="out"></p>"#;
    browser
        .open_url(&format!("data:text/html,{}", urlencode(page)))
        .await;
    browser.type_into("Email", "ada@example.com").await;
    browser.type_into("Card number", "4242").await;
    browser.click("button", "Continue").await;
    browser.wait_for_text("Thanks, ada@example.com 4242").await;
    let shot = build_dir().join("browser-screenshots/harness-form.png");
    browser.screenshot(&shot).await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 0);
    browser.close().await;
}

/// `text` percent-encoded for a `data:` URL.
fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
