//! Endpoint timeouts as the gateway's deployed synapse configuration holds them.
//!
//! Up to 3.x the gateway deploys each API and endpoint as a file under
//! `repository/deployment/server/synapse-configs/default/{api,endpoints}/`; an endpoint's
//! `<timeout><duration>` (milliseconds) is how long the gateway waits for that backend before
//! its timeout action. 4.x deploys APIs in memory from the control plane, so there the files say
//! nothing (the timeouts are unknown, not absent). Reads only; never judges.

use super::{ApimModel, Layout, xml};
use crate::model::{Location, display_path};
use crate::source::{self, Read};
use std::path::Path;

/// The folders under the home that hold deployed APIs and endpoints.
pub const DIRS: &[&str] = &[
    "repository/deployment/server/synapse-configs/default/api",
    "repository/deployment/server/synapse-configs/default/endpoints",
];

/// One `<timeout><duration>` of a deployed API or endpoint file.
#[derive(Clone, Debug)]
pub struct EndpointTimeout {
    /// Milliseconds.
    pub millis: i64,
    pub at: Location,
}

/// What the synapse configuration files say about endpoint timeouts.
#[derive(Clone, Debug, Default)]
pub struct EndpointTimeouts {
    pub timeouts: Vec<EndpointTimeout>,
    /// The files read (display names), in order.
    pub files: Vec<String>,
    /// Files that exist but could not be read or parsed; their timeouts are unknown.
    pub unreadable: Vec<String>,
    /// The version deploys APIs in memory (4.x): the files do not hold the gateway's endpoints.
    pub in_memory: bool,
}

/// Reads every `*.xml` in [`DIRS`] and collects each `<timeout>`'s `<duration>` that is a whole
/// number of milliseconds.
pub fn read(apim: &ApimModel) -> EndpointTimeouts {
    let mut out = EndpointTimeouts {
        in_memory: apim.home.layout == Layout::Toml && apim.home.effective_version.major >= 4,
        ..Default::default()
    };
    for dir in DIRS {
        for name in list(apim, dir) {
            let path = apim.home.path.join(dir).join(&name);
            let display = display_path(&apim.root, &path);
            let read = match path.strip_prefix(&apim.root) {
                Ok(inside) if apim.root != Path::new("/") => {
                    source::read_under(&apim.root, &inside.to_string_lossy())
                }
                _ => source::read_path(&apim.root, &path),
            };
            let Read::File(file) = read else {
                out.unreadable.push(display);
                continue;
            };
            let Ok(doc) = xml::parse(file) else {
                out.unreadable.push(display);
                continue;
            };
            collect(&doc, &doc.root, &mut out.timeouts);
            out.files.push(display);
        }
    }
    out
}

/// The `*.xml` names in `dir` of the home, sorted.
fn list(apim: &ApimModel, dir: &str) -> Vec<String> {
    let path = apim.home.path.join(dir);
    match path.strip_prefix(&apim.root) {
        Ok(inside) if apim.root != Path::new("/") => {
            source::list_dir(&apim.root, &inside.to_string_lossy(), ".xml")
        }
        _ => {
            let mut names: Vec<String> = std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.ends_with(".xml"))
                .collect();
            names.sort();
            names
        }
    }
}

fn collect(doc: &xml::XmlDoc, e: &xml::Element, out: &mut Vec<EndpointTimeout>) {
    if e.name == "timeout" {
        for d in e.children.iter().filter(|c| c.name == "duration") {
            if let Some(t) = &d.text
                && let Ok(millis) = t.value.trim().parse::<i64>()
            {
                out.push(EndpointTimeout {
                    millis,
                    at: doc.file.location(t.span),
                });
            }
        }
    }
    for c in &e.children {
        collect(doc, c, out);
    }
}
