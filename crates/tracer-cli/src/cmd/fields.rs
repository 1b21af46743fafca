//! `tracer fields`: the field catalog (names, types, descriptions) usable in filters,
//! `by` and `-p` formats.

use anyhow::Result;
use serde::Serialize;
use tracer_core::filter::fields::catalog;

use crate::cli::FieldsArgs;
use crate::output::Output;

/// One catalog entry, as JSON.
#[derive(Debug, Serialize)]
struct Entry {
    name: String,
    #[serde(rename = "type")]
    ty: &'static str,
    description: String,
}

/// `tracer fields`.
pub fn run(args: FieldsArgs, out: &Output) -> Result<()> {
    let entries: Vec<Entry> = catalog()
        .iter()
        .map(|d| Entry {
            name: d.display_name(),
            ty: d.ty.name(),
            description: d.desc.clone(),
        })
        .collect();
    if args.json {
        return out.json(&entries);
    }
    let width = entries
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0);
    let tw = entries.iter().map(|e| e.ty.len()).max().unwrap_or(0);
    let mut text = String::new();
    let mut class = "";
    for e in &entries {
        let c = e.name.split('.').next().unwrap_or("");
        if c != class {
            if !class.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("{c}\n"));
            class = c;
        }
        text.push_str(&format!(
            "  {:<width$}  {:<tw$}  {}\n",
            e.name, e.ty, e.description
        ));
    }
    Ok(out.print(&text)?)
}
