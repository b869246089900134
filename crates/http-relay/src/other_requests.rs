//! Requests that are not ACME challenges: `redirect-https`, `not-found`, or `upstream`.

use config::OtherRequests;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, LOCATION};
use hyper::http::uri::Authority;
use hyper::{Request, Response, StatusCode, Uri};

use crate::Relay;
use crate::app_exchange::{self, AppBody, AppError, AppLimits};
use crate::app_upgrade;
use crate::forwarded_headers;
use crate::inbound::Inbound;
use crate::relay::APP_CONNECT_TIMEOUT;
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

/// Reverse proxy to the app for this host over a kept or fresh connection, in this
/// task, streaming both ways ([`app_exchange`]).
async fn upstream(relay: &Relay, req: Request<Incoming>, inbound: Inbound) -> Response<Body> {
    let Some(apps) = &relay.apps else {
        return text(StatusCode::NOT_FOUND, "no upstream configured");
    };
    let Some(app) = apps.by_host.get(&inbound.host).or(apps.default.as_ref()) else {
        return text(StatusCode::NOT_FOUND, "no app for this host");
    };
    let (mut parts, body) = req.into_parts();
    // Origin form: the app gets the path and query, and the client's Host.
    parts.uri = origin_form(&parts.uri);
    let Some(slot) = relay.target_slot() else {
        return crate::reply::busy();
    };
    let upgrade = app_upgrade::requested(parts.version, &parts.headers);
    forwarded_headers::forward_headers(&mut parts.headers, &inbound, &relay.via_name, true);
    let asked_upgrade = upgrade.is_some();
    if let Some(protocol) = upgrade {
        app_upgrade::ask(&mut parts.headers, protocol);
    }
    parts.version = hyper::Version::HTTP_11;
    let request = Request::from_parts(parts, body);
    let limits = AppLimits {
        connect: APP_CONNECT_TIMEOUT,
        response: apps.response_timeout,
    };
    match app_exchange::send(&apps.pool, app, request, limits).await {
        Ok((response, connection))
            if asked_upgrade && response.status() == StatusCode::SWITCHING_PROTOCOLS =>
        {
            let (parts, _empty) = response.into_parts();
            app_upgrade::switch(parts.headers, connection, slot).await
        }
        Ok((response, _)) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            tracing::warn!(host = %inbound.host, app = %app, "upstream app switched protocols unasked");
            app_failed(app)
        }
        Ok((response, connection)) => {
            let (mut parts, body) = response.into_parts();
            forwarded_headers::strip_hop_by_hop(&mut parts.headers);
            let body = AppBody::new(body, connection, apps.pool.clone(), app.clone(), slot);
            Response::from_parts(parts, Body::Streamed(body))
        }
        Err(e @ AppError::ResponseTimeout(_)) => {
            tracing::warn!(host = %inbound.host, app = %app, error = %e, "upstream app failed");
            text(
                StatusCode::GATEWAY_TIMEOUT,
                format!("upstream app {app} did not answer in time"),
            )
        }
        Err(e) => {
            tracing::warn!(host = %inbound.host, app = %app, error = %e, "upstream app failed");
            app_failed(app)
        }
    }
}

/// `502` naming the app (not the cause, which goes to the log).
fn app_failed(app: &Authority) -> Response<Body> {
    text(
        StatusCode::BAD_GATEWAY,
        format!("upstream app {app} failed"),
    )
}

/// The request target as the app receives it: path and query only.
fn origin_form(original: &Uri) -> Uri {
    original
        .path_and_query()
        .map_or_else(|| Uri::from_static("/"), |path| Uri::from(path.clone()))
}
