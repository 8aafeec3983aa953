//! Headless Chromium driven over the DevTools protocol: load a page in a tab of its own,
//! read its DOM, take a screenshot, and list every request that page made.
//!
//! The requests come from the tab's own `Network` events, so the browser's background
//! traffic (component updates, safe-browsing lists, ...) is never mistaken for the page's:
//! it belongs to the browser, not to the tab. Requests that a Content-Security-Policy
//! blocks are listed too, since the tab reports them before blocking them.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Debian's package; hack/test.sh installs it. A missing browser fails the test.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long the browser may take to start or to answer one command. Far more than either
/// takes; it only turns a hung browser into a failed test.
const WAIT: Duration = Duration::from_secs(60);

/// One headless browser with an empty profile, killed when dropped.
pub struct Chromium {
    child: Child,
    socket: WebSocket<TcpStream>,
    next_id: u64,
    /// Events that arrived while waiting for a command's answer, in order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

/// A page as the browser loaded it.
pub struct Loaded {
    /// `document.documentElement.outerHTML` after the load event.
    pub html: String,
    /// A PNG of the viewport.
    pub screenshot: Vec<u8>,
    /// The URL of every request the page made, in order, the page itself first.
    pub requests: Vec<String>,
}

impl Loaded {
    /// The requests that went anywhere but `origin` (`http://host:port`); `data:` URLs
    /// load nothing.
    pub fn outside(&self, origin: &str) -> Vec<&str> {
        let local = format!("{origin}/");
        self.requests
            .iter()
            .map(String::as_str)
            .filter(|url| !url.starts_with(&local) && !url.starts_with("data:"))
            .collect()
    }
}

impl Chromium {
    pub fn launch() -> Chromium {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: hack/test.sh installs Debian's chromium"
        );
        let profile = tempfile::tempdir().expect("a temp dir");
        let mut child = std::process::Command::new(CHROMIUM)
            .env_clear()
            .env("HOME", profile.path())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--hide-scrollbars",
                // The browser's own traffic: not needed, and not what the tests look at.
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-domain-reliability",
                // No name is looked up: what the page asks for is recorded, never fetched.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let address = devtools_address(&mut child);
        let host = address
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("not a DevTools address: {address}"));
        let stream = TcpStream::connect(host).expect("the DevTools port accepts");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let (socket, _) =
            tungstenite::client(address.as_str(), stream).expect("a DevTools session");
        Chromium {
            child,
            socket,
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        }
    }

    /// Loads `url` in a new tab of `window` pixels with `headers` on every request, and
    /// waits for its load event (every image and stylesheet loaded or failed).
    pub fn load(&mut self, url: &str, headers: &[(&str, &str)], window: (u32, u32)) -> Loaded {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        let session = attached["sessionId"].as_str().expect("a session id");
        let tab = Some(session);
        self.call(tab, "Network.enable", json!({}));
        self.call(tab, "Page.enable", json!({}));
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), Value::from(*value)))
            .collect();
        self.call(
            tab,
            "Network.setExtraHTTPHeaders",
            json!({ "headers": headers }),
        );
        self.call(
            tab,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": window.0, "height": window.1, "deviceScaleFactor": 1, "mobile": false}),
        );
        let navigated = self.call(tab, "Page.navigate", json!({ "url": url }));
        assert_eq!(navigated.get("errorText"), None, "loading {url} failed");
        self.wait_for(session, "Page.loadEventFired");
        let html = self.call(
            tab,
            "Runtime.evaluate",
            json!({"expression": "document.documentElement.outerHTML", "returnByValue": true}),
        );
        let html = html["result"]["value"].as_str().expect("the page's HTML");
        let shot = self.call(tab, "Page.captureScreenshot", json!({"format": "png"}));
        let screenshot = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64");
        // Every event of this tab up to the screenshot's answer has arrived by now: the
        // protocol delivers a connection's messages in order.
        let requests = self
            .events
            .iter()
            .filter(|e| e["sessionId"] == session && e["method"] == "Network.requestWillBeSent")
            .map(|e| {
                e["params"]["request"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        Loaded {
            html: html.to_owned(),
            screenshot,
            requests,
        }
    }

    /// Sends one command (to the browser, or to a tab's session) and returns its result.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = session.into();
        }
        self.socket
            .send(Message::text(command.to_string()))
            .unwrap_or_else(|e| panic!("sending {method}: {e}"));
        loop {
            let message = self.receive(method);
            if message["id"] == id {
                assert_eq!(message.get("error"), None, "{method} failed");
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// Reads messages until `event` arrives from `session`.
    fn wait_for(&mut self, session: &str, event: &str) {
        loop {
            let message = self.receive(event);
            let done = message["sessionId"] == session && message["method"] == event;
            self.events.push(message);
            if done {
                return;
            }
        }
    }

    fn receive(&mut self, waiting_for: &str) -> Value {
        loop {
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return serde_json::from_str(&text).expect("DevTools sends JSON");
                }
                Ok(_) => continue,
                Err(e) => panic!("waiting for {waiting_for}: {e}"),
            }
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser's DevTools WebSocket address, from the line Chromium prints on stderr when
/// it is ready: `DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID`. The rest
/// of stderr keeps being drained, so the browser never blocks on a full pipe.
fn devtools_address(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                // Nobody listens any more: keep reading so the browser can write.
                continue;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        match receive.recv_timeout(WAIT) {
            Ok(line) => match line.strip_prefix("DevTools listening on ") {
                Some(address) => return address.trim().to_owned(),
                None => seen.push(line),
            },
            Err(e) => panic!(
                "chromium did not start ({e}); its stderr:\n{}",
                seen.join("\n")
            ),
        }
    }
}
