//! Every route of the central register, with who may use it. The router is built from
//! [`ROUTES`] only, so a route cannot be served without saying who may use it, and the tests
//! that knock on every door without credentials walk the same list.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, post};

use super::state::AppState;
use super::web::{
    assets, auth, collections, custody, goods_in, layout, login, stations, trust, verify,
};
use super::{api, ca};
use crate::register::accounts::Permission;

pub use super::web::auth::Access;

/// The HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One route.
pub struct Route {
    pub method: Method,
    /// The path as axum matches it (`{tag}` is a parameter).
    pub path: &'static str,
    /// The path with its parameters filled in, for tests that call every route.
    pub example: &'static str,
    pub access: Access,
    handler: fn() -> MethodRouter<AppState>,
}

use Access::*;
use Method::*;
use Permission::*;

/// Every route of the server.
pub static ROUTES: &[Route] = &[
    // The API of stations and scripts.
    Route {
        method: Get,
        path: "/api/v1/health",
        example: "/api/v1/health",
        access: Open,
        handler: || get(api::health),
    },
    Route {
        method: Post,
        path: "/api/v1/certificates",
        example: "/api/v1/certificates",
        access: Station,
        handler: || post(api::receive_certificate),
    },
    Route {
        method: Post,
        path: "/api/v1/events",
        example: "/api/v1/events",
        access: Station,
        handler: || post(api::receive_event),
    },
    Route {
        method: Post,
        path: "/api/v1/stations/rename",
        example: "/api/v1/stations/rename",
        access: Station,
        handler: || post(api::receive_rename),
    },
    Route {
        method: Get,
        path: "/api/v1/ca.pem",
        example: "/api/v1/ca.pem",
        access: Open,
        handler: || get(ca::ca_pem),
    },
    Route {
        method: Get,
        path: "/api/v1/crl",
        example: "/api/v1/crl",
        access: Open,
        handler: || get(ca::crl),
    },
    Route {
        method: Get,
        path: "/api/v1/stations/{key_id}/certificate",
        example: "/api/v1/stations/SHA256:00/certificate",
        access: Station,
        handler: || get(ca::station_certificate),
    },
    Route {
        method: Get,
        path: "/api/v1/assets",
        example: "/api/v1/assets",
        access: Api(Read),
        handler: || get(api::list_assets),
    },
    Route {
        method: Get,
        path: "/api/v1/assets/{tag}",
        example: "/api/v1/assets/ACME-1",
        access: Api(Read),
        handler: || get(api::show_asset),
    },
    Route {
        method: Get,
        path: "/api/v1/unmatched",
        example: "/api/v1/unmatched",
        access: Api(Read),
        handler: || get(api::unmatched),
    },
    Route {
        method: Get,
        path: "/api/v1/stations",
        example: "/api/v1/stations",
        access: Api(Read),
        handler: || get(api::stations),
    },
    // Signing in and out.
    Route {
        method: Get,
        path: "/style.css",
        example: "/style.css",
        access: Open,
        handler: || get(layout::stylesheet),
    },
    Route {
        method: Get,
        path: "/login",
        example: "/login",
        access: Open,
        handler: || get(login::page),
    },
    Route {
        method: Post,
        path: "/login",
        example: "/login",
        access: SignIn,
        handler: || post(login::sign_in),
    },
    Route {
        method: Post,
        path: "/logout",
        example: "/logout",
        access: Form(Read),
        handler: || post(login::sign_out),
    },
    // The pages.
    Route {
        method: Get,
        path: "/",
        example: "/",
        access: Page(Read),
        handler: || get(assets::home),
    },
    Route {
        method: Get,
        path: "/assets",
        example: "/assets?q=ACME",
        access: Page(Read),
        handler: || get(assets::search),
    },
    Route {
        method: Get,
        path: "/assets/{tag}",
        example: "/assets/ACME-1",
        access: Page(Read),
        handler: || get(assets::asset),
    },
    Route {
        method: Get,
        path: "/certificates/{id}",
        example: "/certificates/00000000-0000-0000-0000-000000000000",
        access: Page(Read),
        handler: || get(assets::certificate),
    },
    Route {
        method: Get,
        path: "/certificates/{id}/pdf",
        example: "/certificates/00000000-0000-0000-0000-000000000000/pdf",
        access: Page(Read),
        handler: || get(assets::certificate_pdf),
    },
    Route {
        method: Get,
        path: "/certificates/{id}/json",
        example: "/certificates/00000000-0000-0000-0000-000000000000/json",
        access: Page(Read),
        handler: || get(assets::certificate_json),
    },
    Route {
        method: Get,
        path: "/collections/{code}",
        example: "/collections/COL-1",
        access: Page(Read),
        handler: || get(collections::collection),
    },
    Route {
        method: Get,
        path: "/collections/{code}/report.pdf",
        example: "/collections/COL-1/report.pdf",
        access: Page(SignReport),
        handler: || get(collections::report_pdf),
    },
    Route {
        method: Get,
        path: "/collections/{code}/report.json",
        example: "/collections/COL-1/report.json",
        access: Page(SignReport),
        handler: || get(collections::report_json),
    },
    Route {
        method: Get,
        path: "/collections/{code}/goods-in",
        example: "/collections/COL-1/goods-in",
        access: Page(Receive),
        handler: || get(goods_in::page),
    },
    Route {
        method: Post,
        path: "/collections/{code}/scans",
        example: "/collections/COL-1/scans",
        access: Form(Receive),
        handler: || post(goods_in::scan),
    },
    Route {
        method: Get,
        path: "/goods-in.js",
        example: "/goods-in.js",
        access: Open,
        handler: || get(goods_in::script),
    },
    Route {
        method: Post,
        path: "/collections/{code}/resolve",
        example: "/collections/COL-1/resolve",
        access: Form(ResolveMissing),
        handler: || post(custody::resolve),
    },
    Route {
        method: Get,
        path: "/verify",
        example: "/verify",
        access: Page(Verify),
        handler: || get(verify::form),
    },
    Route {
        method: Post,
        path: "/verify",
        example: "/verify",
        access: Form(Verify),
        handler: || post(verify::upload).layer(DefaultBodyLimit::max(verify::MAX_UPLOAD)),
    },
    Route {
        method: Get,
        path: "/trust",
        example: "/trust",
        access: Page(Read),
        handler: || get(trust::page),
    },
    Route {
        method: Get,
        path: "/stations",
        example: "/stations",
        access: Page(Read),
        handler: || get(stations::stations),
    },
    Route {
        method: Get,
        path: "/users",
        example: "/users",
        access: Page(ManageUsers),
        handler: || get(stations::users),
    },
];

/// The router of every route in [`ROUTES`], each behind the guard of its access.
pub(super) fn router(state: AppState, max_body: usize) -> Router {
    super::secrets::prepare_stand_in();
    let mut router = Router::new();
    for route in ROUTES {
        let guarded = (route.handler)().route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), route.access),
            auth::guard,
        ));
        router = router.route(route.path, guarded);
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// JSON `404` for an `/api/v1` path that is no route (scripts read JSON); the HTML page for any
/// other path.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    let path = uri.path();
    if path == "/api/v1" || path.starts_with("/api/v1/") {
        return super::state::json_error(
            axum::http::StatusCode::NOT_FOUND,
            format!("there is no API at {path}; the README lists the routes under /api/v1"),
        );
    }
    layout::not_found().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once_and_only_open_routes_need_nothing() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.path, r.method == Method::Get)),
                "{} listed twice",
                r.path
            );
            if r.access == Access::Open {
                assert!(
                    [
                        "/api/v1/health",
                        "/api/v1/ca.pem",
                        "/api/v1/crl",
                        "/login",
                        "/style.css",
                        "/goods-in.js"
                    ]
                    .contains(&r.path),
                    "{} is open to anyone: is that meant?",
                    r.path
                );
            }
        }
    }
}
