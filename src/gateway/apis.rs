//! The APIs the embedded gateway publishes, and matching a request to one of their resources.
//!
//! Two APIs, like a fresh API-M with its sample: PizzaShackAPI, to which every seeded
//! application subscribes, and an admin API nobody subscribes to (its calls get 403).

/// One resource: a verb and a URI template (`/order/{orderId}`).
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    pub method: &'static str,
    pub template: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Api {
    pub name: &'static str,
    /// Context and version, as the gateway publishes them.
    pub context: &'static str,
    pub resources: &'static [Resource],
}

pub const APIS: &[Api] = &[
    Api {
        name: "PizzaShackAPI",
        context: "/pizzashack/1.0.0",
        resources: &[
            Resource {
                method: "GET",
                template: "/menu",
            },
            Resource {
                method: "POST",
                template: "/order",
            },
            Resource {
                method: "GET",
                template: "/order/{orderId}",
            },
            Resource {
                method: "PUT",
                template: "/order/{orderId}",
            },
            Resource {
                method: "DELETE",
                template: "/order/{orderId}",
            },
        ],
    },
    Api {
        name: "AdminAPI",
        context: "/admin/1.0.0",
        resources: &[Resource {
            method: "GET",
            template: "/users",
        }],
    },
];

impl Api {
    /// Whether the seeded applications subscribe to it (else its calls get 403).
    pub fn subscribed(&self) -> bool {
        super::tokens::SUBSCRIPTIONS.contains(&self.name)
    }
}

/// The resource a request matched and the path to send to the backend.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched<'a> {
    pub api: &'static Api,
    pub resource: &'static Resource,
    /// The request path after the context, with its query.
    pub backend_path: &'a str,
}

/// Why nothing matched.
#[derive(Debug, PartialEq, Eq)]
pub enum NoMatch {
    /// No API has this context.
    Api,
    /// The API has no resource for this verb and path.
    Resource,
}

/// Matches `method path?query` against the published APIs.
pub fn route<'a>(method: &str, path_and_query: &'a str) -> Result<Matched<'a>, NoMatch> {
    let path = path_and_query.split('?').next().unwrap_or("");
    let api = APIS
        .iter()
        .find(|a| {
            path.strip_prefix(a.context)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .ok_or(NoMatch::Api)?;
    let rest = &path[api.context.len()..];
    let resource = api
        .resources
        .iter()
        .find(|r| r.method == method && template_matches(r.template, rest))
        .ok_or(NoMatch::Resource)?;
    Ok(Matched {
        api,
        resource,
        backend_path: &path_and_query[api.context.len()..],
    })
}

/// `/order/{orderId}` matches `/order/42`, not `/order` or `/order/42/x`.
fn template_matches(template: &str, path: &str) -> bool {
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) => {
                let variable = ts.starts_with('{') && ts.ends_with('}');
                if !(variable && !ps.is_empty() || ts == ps) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_each_resource_and_keeps_the_query() {
        let m = route("GET", "/pizzashack/1.0.0/order/42?x=1").expect("match");
        assert_eq!(m.api.name, "PizzaShackAPI");
        assert_eq!(m.resource.template, "/order/{orderId}");
        assert_eq!(m.backend_path, "/order/42?x=1");
        assert_eq!(
            route("POST", "/pizzashack/1.0.0/order").map(|m| m.resource.method),
            Ok("POST")
        );
    }

    #[test]
    fn unknown_api_and_unknown_resource_differ() {
        assert_eq!(route("GET", "/nope/1.0.0/menu"), Err(NoMatch::Api));
        assert_eq!(route("GET", "/pizzashack/1.0.0x/menu"), Err(NoMatch::Api));
        assert_eq!(
            route("POST", "/pizzashack/1.0.0/menu"),
            Err(NoMatch::Resource)
        );
        assert_eq!(
            route("GET", "/pizzashack/1.0.0/order/42/x"),
            Err(NoMatch::Resource)
        );
        assert_eq!(
            route("GET", "/pizzashack/1.0.0/order/"),
            Err(NoMatch::Resource)
        );
    }
}
