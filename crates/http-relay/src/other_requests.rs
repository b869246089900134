//! Requests that are not ACME challenges: `redirect-https`, `not-found`, or `upstream`.

use config::OtherRequests;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, LOCATION};
use hyper::http::uri::{Authority, Scheme};
use hyper::{Request, Response, StatusCode, Uri};

use crate::Relay;
use crate::forwarded_headers;
use crate::inbound::Inbound;
use crate::reply::{Body, text};

/// Answers a non-challenge request as configured.
pub async fn handle(relay: &Relay, req: Request<Incoming>, inbound: Inbound) -> Response<Body> {
    match relay.other_requests {
        OtherRequests::NotFound => text(StatusCode::NOT_FOUND, "not found"),
        OtherRequests::RedirectHttps => redirect_https(&req, &inbound),
        OtherRequests::Upstream => upstream(relay, req, inbound).await,
    }
}

/// 301 to the same host and path over https (default port).
fn redirect_https(req: &Request<Incoming>, inbound: &Inbound) -> Response<Body> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{}{}", inbound.host, path);
    let mut response = text(
        StatusCode::MOVED_PERMANENTLY,
        format!("moved to {location}"),
    );
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
            response
        }
        Err(_) => text(
            StatusCode::BAD_REQUEST,
            "request target cannot be redirected",
        ),
    }
}

/// Reverse proxy to the app for this host over the pooled client, streaming both ways.
async fn upstream(relay: &Relay, req: Request<Incoming>, inbound: Inbound) -> Response<Body> {
    let Some(apps) = &relay.apps else {
        return text(StatusCode::NOT_FOUND, "no upstream configured");
    };
    let Some(app) = apps.by_host.get(&inbound.host).or(apps.default.as_ref()) else {
        return text(StatusCode::NOT_FOUND, "no app for this host");
    };
    let (mut parts, body) = req.into_parts();
    parts.uri = match app_uri(app, &parts.uri) {
        Some(uri) => uri,
        None => {
            return text(
                StatusCode::BAD_REQUEST,
                "request target cannot be forwarded",
            );
        }
    };
    let Some(slot) = relay.target_slot() else {
        return crate::reply::busy();
    };
    forwarded_headers::forward_headers(&mut parts.headers, &inbound, &relay.via_name, true);
    parts.version = hyper::Version::HTTP_11;
    let request = Request::from_parts(parts, body);
    match apps.client.request(request).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            forwarded_headers::strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Body::Streamed(body, slot))
        }
        Err(e) => {
            tracing::warn!(host = %inbound.host, app = %app, error = %e, "upstream app failed");
            text(
                StatusCode::BAD_GATEWAY,
                format!("upstream app {app} failed"),
            )
        }
    }
}

fn app_uri(app: &Authority, original: &Uri) -> Option<Uri> {
    Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(app.clone())
        .path_and_query(original.path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .ok()
}
