//! Bounded walks of a PDF's trees: the page tree and name trees (`/EmbeddedFiles`).
//!
//! A hostile file can make a tree node list itself, or one node many times, as its kids: a walk
//! bounded only by depth then does exponential work (a 596-byte file whose name tree lists
//! itself 40 times kept `verify` busy forever). Every walk here visits each indirect object at
//! most once (a second visit is a malformed file, not something to skip quietly) and stops with
//! an error after a fixed number of nodes and entries, so the work is bounded by those numbers
//! whatever the file holds.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object, ObjectId};

use super::PdfError;

/// Most tree nodes (page tree and name tree nodes, each) a walk visits.
pub const MAX_TREE_NODES: usize = 1024;
/// Most entries read from a name tree.
pub const MAX_NAME_ENTRIES: usize = 256;
/// Deepest nesting of a tree.
pub const MAX_TREE_DEPTH: usize = 32;

fn malformed(what: String) -> PdfError {
    PdfError::Malformed(what)
}

/// The work done so far by one walk: nodes seen by object id, and how many.
struct Budget {
    tree: &'static str,
    visited: HashSet<ObjectId>,
    nodes: usize,
}

impl Budget {
    fn new(tree: &'static str) -> Budget {
        Budget {
            tree,
            visited: HashSet::new(),
            nodes: 0,
        }
    }

    /// Counts a node, refusing a second visit of the same object and a walk that grew too big.
    fn enter(&mut self, id: Option<ObjectId>, depth: usize) -> Result<(), PdfError> {
        if let Some(id) = id
            && !self.visited.insert(id)
        {
            return Err(malformed(format!(
                "the {} lists object {} {} twice (a loop or a shared node)",
                self.tree, id.0, id.1
            )));
        }
        self.nodes += 1;
        if self.nodes > MAX_TREE_NODES {
            return Err(malformed(format!(
                "the {} has more than {MAX_TREE_NODES} nodes",
                self.tree
            )));
        }
        if depth > MAX_TREE_DEPTH {
            return Err(malformed(format!(
                "the {} is nested deeper than {MAX_TREE_DEPTH} levels",
                self.tree
            )));
        }
        Ok(())
    }
}

/// The array an entry of `dict` holds, directly or by reference (absent: empty).
fn array<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Result<&'a [Object], PdfError> {
    let Ok(o) = dict.get(key) else {
        return Ok(&[]);
    };
    match doc.dereference(o) {
        Ok((_, Object::Array(a))) => Ok(a),
        Ok(_) => Err(malformed(format!(
            "/{} is not an array",
            String::from_utf8_lossy(key)
        ))),
        Err(e) => Err(malformed(e.to_string())),
    }
}

/// The pages in document order, walking the page tree from the catalog's `/Pages`, at most
/// `max_pages` of them.
pub fn pages(
    doc: &Document,
    catalog: &Dictionary,
    max_pages: usize,
) -> Result<Vec<ObjectId>, PdfError> {
    let mut budget = Budget::new("page tree");
    let root = catalog
        .get(b"Pages")
        .and_then(Object::as_reference)
        .map_err(|_| malformed("the catalog has no /Pages reference".into()))?;
    let mut out = Vec::new();
    // Depth-first, kids in order: a stack of (node, depth), kids pushed in reverse.
    let mut stack = vec![(root, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        budget.enter(Some(id), depth)?;
        let node = doc
            .get_dictionary(id)
            .map_err(|e| malformed(format!("page tree node {} {}: {e}", id.0, id.1)))?;
        let kind = node.get(b"Type").and_then(Object::as_name).unwrap_or(b"");
        match kind {
            b"Page" => {
                out.push(id);
                if out.len() > max_pages {
                    return Err(malformed(format!("more than {max_pages} pages")));
                }
            }
            b"Pages" => {
                let kids = array(doc, node, b"Kids")?;
                for kid in kids.iter().rev() {
                    let kid = kid.as_reference().map_err(|_| {
                        malformed("a page tree node lists a kid that is not a reference".into())
                    })?;
                    stack.push((kid, depth + 1));
                }
            }
            other => {
                return Err(malformed(format!(
                    "page tree node {} {} has /Type /{}",
                    id.0,
                    id.1,
                    String::from_utf8_lossy(other)
                )));
            }
        }
    }
    Ok(out)
}

/// Every (name, value) entry of a name tree (PDF 32000-1 7.9.6) whose root is `root`, in the
/// order the tree lists them.
pub fn name_tree<'a>(
    doc: &'a Document,
    root: &'a Dictionary,
) -> Result<Vec<(Vec<u8>, &'a Object)>, PdfError> {
    let mut budget = Budget::new("name tree");
    let mut out = Vec::new();
    let mut stack: Vec<(Option<ObjectId>, &Dictionary, usize)> = vec![(None, root, 0)];
    while let Some((id, node, depth)) = stack.pop() {
        budget.enter(id, depth)?;
        let names = array(doc, node, b"Names")?;
        if names.len() % 2 != 0 {
            return Err(malformed("a name tree's /Names has an odd length".into()));
        }
        for pair in names.chunks(2) {
            let [Object::String(name, _), value] = pair else {
                return Err(malformed("a name tree key is not a string".into()));
            };
            out.push((name.clone(), value));
            if out.len() > MAX_NAME_ENTRIES {
                return Err(malformed(format!(
                    "a name tree has more than {MAX_NAME_ENTRIES} entries"
                )));
            }
        }
        let kids = array(doc, node, b"Kids")?;
        for kid in kids.iter().rev() {
            let kid_id = kid.as_reference().map_err(|_| {
                malformed("a name tree node lists a kid that is not a reference".into())
            })?;
            let dict = doc
                .get_dictionary(kid_id)
                .map_err(|e| malformed(format!("name tree node {} {}: {e}", kid_id.0, kid_id.1)))?;
            stack.push((Some(kid_id), dict, depth + 1));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::dictionary;

    /// A document whose embedded-files name tree node lists itself `copies` times as a kid.
    pub(crate) fn self_listing_name_tree(copies: usize) -> Document {
        let mut doc = Document::with_version("1.7");
        let node_id = doc.new_object_id();
        let kids: Vec<Object> = (0..copies).map(|_| Object::Reference(node_id)).collect();
        doc.objects
            .insert(node_id, Object::Dictionary(dictionary! { "Kids" => kids }));
        doc
    }

    #[test]
    fn a_name_tree_that_lists_itself_is_an_error_at_once() {
        let doc = self_listing_name_tree(40);
        let (&id, _) = doc.objects.iter().next().unwrap();
        let root = doc.get_dictionary(id).unwrap();
        let started = std::time::Instant::now();
        // The root is reached by reference here, as a kid of an inline root.
        let outer = dictionary! { "Kids" => vec![Object::Reference(id)] };
        let err = name_tree(&doc, &outer).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        assert!(name_tree(&doc, root).is_err());
        // Only against a hang; how the time grows with the copies: `cargo bench --bench growth`.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn wide_trees_stop_at_the_node_budget() {
        // A chain of distinct nodes, each with many distinct kids: no loop, but more nodes
        // than any certificate has.
        let mut doc = Document::with_version("1.7");
        let leaves: Vec<Object> = (0..MAX_TREE_NODES + 5)
            .map(|_| Object::Reference(doc.add_object(dictionary! {})))
            .collect();
        let root = dictionary! { "Kids" => leaves };
        let err = name_tree(&doc, &root).unwrap_err();
        assert!(err.to_string().contains("nodes"), "{err}");
    }

    #[test]
    fn a_page_tree_that_lists_itself_is_an_error() {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let kids: Vec<Object> = (0..40).map(|_| Object::Reference(pages_id)).collect();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids }),
        );
        let catalog = dictionary! { "Type" => "Catalog", "Pages" => pages_id };
        let err = pages(&doc, &catalog, 64).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }
}
