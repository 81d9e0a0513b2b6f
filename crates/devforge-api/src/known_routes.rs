//! Which methods each documented path takes, so that a request for a known path with a
//! method it does not take gets `405 method_not_allowed` with `Allow`, and only a path that
//! exists nowhere gets `404`. The table is read from the OpenAPI document the server
//! serves, so it cannot drift from the routes.

use crate::error::ApiError;
use actix_web::dev::ResourceDef;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, web};
use utoipa::openapi::OpenApi;

/// Every documented path template and the methods it takes.
#[derive(Debug)]
pub struct KnownRoutes(Vec<(ResourceDef, Vec<Method>)>);

impl KnownRoutes {
    /// The table of `document`'s paths.
    #[must_use]
    pub fn from_document(document: &OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let methods = [
                    (item.get.is_some(), Method::GET),
                    (item.put.is_some(), Method::PUT),
                    (item.post.is_some(), Method::POST),
                    (item.delete.is_some(), Method::DELETE),
                    (item.patch.is_some(), Method::PATCH),
                ]
                .into_iter()
                .filter_map(|(present, method)| present.then_some(method))
                .collect();
                (ResourceDef::new(template.as_str()), methods)
            })
            .collect();
        Self(routes)
    }

    /// The methods `path` takes (none: unknown path), from the most specific templates it
    /// matches: `/v1/licenses/validate` is that route, not `/v1/licenses/{id}`.
    #[must_use]
    pub fn methods_for(&self, path: &str) -> Vec<Method> {
        let placeholders =
            |template: &ResourceDef| template.pattern().map_or(0, |p| p.matches('{').count());
        let matching: Vec<_> = self.0.iter().filter(|(t, _)| t.is_match(path)).collect();
        let fewest = matching.iter().map(|(t, _)| placeholders(t)).min();
        let mut methods: Vec<Method> = Vec::new();
        for (template, taken) in matching {
            if Some(placeholders(template)) == fewest {
                for method in taken {
                    if !methods.contains(method) {
                        methods.push(method.clone());
                    }
                }
            }
        }
        methods
    }
}

/// The answer for a request no route took: `405` with `Allow` when the path exists with
/// other methods, otherwise `404`.
pub async fn no_route(req: HttpRequest) -> HttpResponse {
    let methods = req
        .app_data::<web::Data<KnownRoutes>>()
        .map(|routes| routes.methods_for(req.path()))
        .unwrap_or_default();
    if methods.is_empty() || methods.contains(req.method()) {
        return ApiError::not_found("no such route").error_response();
    }
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} takes {allow}", req.path()),
    )
    .error_response();
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::KnownRoutes;
    use actix_web::http::Method;

    #[test]
    fn a_path_takes_the_methods_of_every_template_it_matches() {
        let routes = KnownRoutes::from_document(&crate::api_routes::openapi_document());
        assert_eq!(routes.methods_for("/health/live"), vec![Method::GET]);
        assert_eq!(
            routes.methods_for("/v1/licenses/validate"),
            vec![Method::POST]
        );
        let extension = routes.methods_for("/v1/extensions/forge-lint");
        assert!(extension.contains(&Method::GET) && extension.contains(&Method::PATCH));
        assert!(routes.methods_for("/v1/nothing-here").is_empty());
    }
}
