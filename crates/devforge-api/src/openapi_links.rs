//! OpenAPI links: how what one operation creates is reached by the next (the new
//! extension's `name` names it in `getExtension`, a new license's `id` in `renewLicense`).
//! Generated clients and stateful fuzzers follow them to chain create → read → change.

use crate::problem_responses::operations;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, RefOr};

/// A target operation and, for each of its parameters, the runtime expression filling it.
type Target = (&'static str, &'static [(&'static str, &'static str)]);

/// From an operation's response (by status), the operations its body leads to.
const LINKS: &[(&str, &str, &[Target])] = &[
    (
        "createExtension",
        "201",
        &[
            ("getExtension", &[("name", "$response.body#/name")]),
            ("updateExtension", &[("name", "$response.body#/name")]),
            (
                "uploadExtensionVersion",
                &[("name", "$response.body#/name")],
            ),
            ("createExtensionReview", &[("name", "$response.body#/name")]),
            ("listExtensionReviews", &[("name", "$response.body#/name")]),
        ],
    ),
    (
        "uploadExtensionVersion",
        "201",
        &[
            (
                "approveExtensionVersion",
                &[
                    ("name", "$request.path.name"),
                    ("version", "$response.body#/version"),
                ],
            ),
            (
                "rejectExtensionVersion",
                &[
                    ("name", "$request.path.name"),
                    ("version", "$response.body#/version"),
                ],
            ),
            (
                "yankExtensionVersion",
                &[
                    ("name", "$request.path.name"),
                    ("version", "$response.body#/version"),
                ],
            ),
        ],
    ),
    (
        "approveExtensionVersion",
        "200",
        &[(
            "downloadExtensionVersion",
            &[
                ("name", "$request.path.name"),
                ("version", "$request.path.version"),
            ],
        )],
    ),
    (
        "createProduct",
        "201",
        &[
            ("getProduct", &[("sku", "$response.body#/sku")]),
            ("updateProduct", &[("sku", "$response.body#/sku")]),
        ],
    ),
    (
        "issueLicense",
        "201",
        &[
            ("getLicense", &[("id", "$response.body#/id")]),
            ("renewLicense", &[("id", "$response.body#/id")]),
            ("suspendLicense", &[("id", "$response.body#/id")]),
            ("revokeLicense", &[("id", "$response.body#/id")]),
            ("listLicenseEvents", &[("id", "$response.body#/id")]),
            ("listLicenseActivations", &[("id", "$response.body#/id")]),
        ],
    ),
    (
        "suspendLicense",
        "200",
        &[("reinstateLicense", &[("id", "$request.path.id")])],
    ),
    (
        "openTicket",
        "201",
        &[
            ("getTicket", &[("id", "$response.body#/id")]),
            ("updateTicket", &[("id", "$response.body#/id")]),
            ("assignTicket", &[("id", "$response.body#/id")]),
            ("postTicketMessage", &[("id", "$response.body#/id")]),
            ("listTicketMessages", &[("id", "$response.body#/id")]),
            ("listTicketEvents", &[("id", "$response.body#/id")]),
        ],
    ),
    (
        "createArticle",
        "201",
        &[
            ("getArticle", &[("slug", "$response.body#/slug")]),
            ("updateArticle", &[("slug", "$response.body#/slug")]),
            ("archiveArticle", &[("slug", "$response.body#/slug")]),
            ("sendArticleFeedback", &[("slug", "$response.body#/slug")]),
            ("listArticleRevisions", &[("slug", "$response.body#/slug")]),
        ],
    ),
    (
        "createPayment",
        "201",
        &[
            ("getPayment", &[("id", "$response.body#/id")]),
            ("confirmPayment", &[("id", "$response.body#/id")]),
            ("refundPayment", &[("id", "$response.body#/id")]),
        ],
    ),
];

/// Adds the `LINKS` table to the document's responses.
///
/// # Panics
/// When an entry names an operation or status the document does not have: the table and
/// the routes must agree (checked by this module's test).
pub fn add_links(document: &mut OpenApi) {
    for (from, status, targets) in LINKS {
        let operation = operation_mut(document, from)
            .unwrap_or_else(|| panic!("link table: no operation {from}"));
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
            panic!("link table: {from} has no inline {status} response");
        };
        for (target, parameters) in *targets {
            let link = parameters
                .iter()
                .fold(
                    LinkBuilder::new().operation_id(*target),
                    |link, (name, expression)| link.parameter(*name, *expression),
                )
                .build();
            let name = format!("{}{}", &target[..1].to_uppercase(), &target[1..]);
            response.links.insert(name, RefOr::T(link));
        }
    }
}

fn operation_mut<'a>(document: &'a mut OpenApi, id: &str) -> Option<&'a mut Operation> {
    document.paths.paths.values_mut().find_map(|item| {
        operations(item).find(|operation| operation.operation_id.as_deref() == Some(id))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_link_leads_to_an_operation_that_takes_its_parameters() {
        let document = crate::api_routes::openapi_document();
        let json = serde_json::to_value(&document).unwrap_or_default();
        let mut ids = std::collections::HashMap::new();
        for item in json["paths"].as_object().into_iter().flatten().map(|p| p.1) {
            for operation in item.as_object().into_iter().flatten().map(|o| o.1) {
                let names: Vec<String> = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect();
                ids.insert(
                    operation["operationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    names,
                );
            }
        }
        let mut links = 0;
        for (from, _, targets) in super::LINKS {
            assert!(ids.contains_key(*from), "{from}");
            for (target, parameters) in *targets {
                let taken = ids.get(*target).unwrap_or_else(|| panic!("{target}"));
                for (name, _) in *parameters {
                    assert!(taken.iter().any(|t| t == name), "{target} takes no {name}");
                }
                links += 1;
            }
        }
        assert!(links > 20);
    }
}
