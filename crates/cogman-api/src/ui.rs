//! The web UI: static HTML, CSS and JavaScript from `crates/cogman-api/ui/`, embedded in the
//! binary and served at `/ui/` (`/` and `/ui` redirect there) with their content types, an
//! `ETag` for revalidation and a strict Content-Security-Policy (no inline script or style).
//! The pages call the REST API under [`crate::PREFIX`] with the user's token; this module
//! only serves files. `docs/ui.md` describes the views.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// Where the UI lives.
pub const UI_ROOT: &str = "/ui/";

/// The policy every UI response carries: scripts, styles and requests from this origin only,
/// no plugins, no `<base>` rewriting, no framing.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Browsers revalidate every file (cheap with the `ETag`), so a new binary is picked up at once.
const CACHE_CONTROL: &str = "no-cache";

/// One embedded file.
#[derive(Debug)]
struct Asset {
    /// Path under `/ui/`.
    path: &'static str,
    /// `Content-Type`.
    content_type: &'static str,
    /// The bytes.
    body: &'static [u8],
}

/// Embeds `ui/<path>` with a content type.
macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../ui/", $path)),
        }
    };
}

/// The content type of the scripts (ES modules).
const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the UI; a unit test checks that this matches the `ui/` folder.
static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/session.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/errors.js", JS),
    asset!("js/format.js", JS),
    asset!("js/chart.js", JS),
    asset!("js/states.js", JS),
    asset!("js/refresh.js", JS),
    asset!("js/live.js", JS),
    asset!("js/views/dashboard.js", JS),
    asset!("js/views/tasks.js", JS),
    asset!("js/views/task.js", JS),
    asset!("js/views/send.js", JS),
    asset!("js/views/named_queues.js", JS),
    asset!("js/views/bulk.js", JS),
    asset!("js/views/dead_letters.js", JS),
];

/// A strong `ETag` per asset (same order as [`ASSETS`]): the first 128 bits of its SHA-256.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body);
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            HeaderValue::from_str(&format!("\"{hex}\"")).expect("invariant: hex is a valid header")
        })
        .collect()
});

/// The UI's routes; merge them into the API router.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(to_ui))
        .route("/ui", get(to_ui))
        .route("/ui/", get(index))
        .route("/ui/{*path}", get(file))
}

/// `/` and `/ui` → `/ui/`.
async fn to_ui() -> Response {
    with_headers(Redirect::to(UI_ROOT).into_response())
}

/// `/ui/`: the page.
async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `/ui/<path>`: a file.
async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The asset at `path`, a 304 when the browser's copy is current, or a 404.
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.path == path) else {
        let response = (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such file in the cogman UI\n",
        );
        return with_headers(response.into_response());
    };
    let asset = &ASSETS[index];
    let etag = ETAGS[index].clone();
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag.as_bytes()
        });
    let response = if fresh {
        (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response()
    } else {
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (header::ETAG, etag),
            ],
            asset.body,
        )
            .into_response()
    };
    with_headers(response)
}

/// The headers every UI response carries.
fn with_headers(mut response: Response) -> Response {
    let headers: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::CACHE_CONTROL, CACHE_CONTROL),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    let target = response.headers_mut();
    for (name, value) in headers {
        target.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path as FsPath, PathBuf};

    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt as _;

    use super::*;

    async fn get_path(path: &str, if_none_match: Option<&HeaderValue>) -> Response {
        let mut request = Request::get(path);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        router()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    fn header_of(response: &Response, name: HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn files_under(dir: &FsPath, root: &FsPath, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("ui folder is readable") {
            let path: PathBuf = entry.expect("entry").path();
            if path.is_dir() {
                files_under(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_in_the_ui_folder_is_embedded_once() {
        let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut on_disk = BTreeSet::new();
        files_under(&root, &root, &mut on_disk);
        let embedded: BTreeSet<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        assert_eq!(embedded.len(), ASSETS.len(), "an asset is listed twice");
        assert_eq!(embedded, on_disk);
        for asset in ASSETS {
            if asset.path.ends_with(".js") {
                assert_eq!(asset.content_type, JS, "{}", asset.path);
            }
        }
    }

    #[test]
    fn the_ui_renders_data_without_html_parsing() {
        // Task names, payloads and errors are attacker-controlled: the scripts build the DOM
        // with textContent only, and the page has no inline code the CSP would have to allow.
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).expect("utf-8 asset");
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ] {
                assert!(!text.contains(banned), "{} uses {banned}", asset.path);
            }
        }
        let page = std::str::from_utf8(ASSETS[0].body).expect("utf-8");
        assert!(!page.contains("style="), "inline style in index.html");
        assert!(!page.contains("<style"), "inline style in index.html");
        assert!(!page.contains("<script>"), "inline script in index.html");
        let handler = page.split(" on").skip(1).any(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(!handler, "inline event handler in index.html");
    }

    #[tokio::test]
    async fn root_redirects_to_the_ui() {
        for path in ["/", "/ui"] {
            let response = get_path(path, None).await;
            assert!(response.status().is_redirection(), "{path}");
            assert_eq!(header_of(&response, header::LOCATION), UI_ROOT);
        }
    }

    #[tokio::test]
    async fn files_are_served_with_type_policy_and_etag() {
        let response = get_path("/ui/", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            header_of(&response, header::CONTENT_SECURITY_POLICY),
            CONTENT_SECURITY_POLICY
        );
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert_eq!(header_of(&response, header::CACHE_CONTROL), CACHE_CONTROL);
        assert_eq!(
            header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(&body[..], ASSETS[0].body);

        let script = get_path("/ui/js/app.js", None).await;
        assert_eq!(script.status(), StatusCode::OK);
        assert_eq!(header_of(&script, header::CONTENT_TYPE), JS);
        let css = get_path("/ui/app.css", None).await;
        assert_eq!(
            header_of(&css, header::CONTENT_TYPE),
            "text/css; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn a_current_copy_gets_304_and_a_stale_one_the_file() {
        let first = get_path("/ui/app.css", None).await;
        let etag = first.headers().get(header::ETAG).cloned().expect("an etag");
        let again = get_path("/ui/app.css", Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let body = to_bytes(again.into_body(), usize::MAX).await.expect("body");
        assert!(body.is_empty());
        let stale = HeaderValue::from_static("\"0123\"");
        let refreshed = get_path("/ui/app.css", Some(&stale)).await;
        assert_eq!(refreshed.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_files_are_404_with_the_policy() {
        for path in ["/ui/nope.js", "/ui/../Cargo.toml", "/ui/js/"] {
            let response = get_path(path, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                header_of(&response, header::CONTENT_SECURITY_POLICY),
                CONTENT_SECURITY_POLICY
            );
        }
    }
}
