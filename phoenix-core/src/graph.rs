//! The dependency graph: declared and derived edges, cycle detection, and a deterministic order.

use std::collections::HashMap;
use std::fmt::Write as _;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::error::Error;
use crate::id::ResourceId;
use crate::resource::DynResource;

/// Why one resource comes after another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeReason {
    /// The resource declares the dependency.
    Declared,
    /// Core derived it from a required capability.
    Requires(String),
}

/// Resources as a DAG. Edges point from a dependency to its dependent.
#[derive(Debug)]
pub struct Graph {
    graph: DiGraph<ResourceId, EdgeReason>,
    order: Vec<NodeIndex>,
    levels: Vec<usize>,
}

impl Graph {
    /// Builds the graph for `resources` (indexed as given). Declared dependencies on resources
    /// that do not exist are reported as error diagnostics; a cycle is an [`Error::Cycle`].
    pub fn build(resources: &[Box<dyn DynResource>]) -> Result<(Graph, Vec<Diagnostic>), Error> {
        let mut graph = DiGraph::with_capacity(resources.len(), resources.len());
        let mut index_of: HashMap<ResourceId, NodeIndex> = HashMap::with_capacity(resources.len());
        for resource in resources {
            let id = resource.id();
            let node = graph.add_node(id.clone());
            index_of.insert(id, node);
        }
        let mut providers: HashMap<String, NodeIndex> = HashMap::new();
        // A named capability may have several providers (every resource in a guest provides
        // `scope-settled:ct:101`); a resource requiring it comes after all of them.
        let mut all_providers: HashMap<String, Vec<NodeIndex>> = HashMap::new();
        for (i, resource) in resources.iter().enumerate() {
            for capability in resource.provides() {
                providers
                    .entry(capability.as_str().to_owned())
                    .or_insert(NodeIndex::new(i));
                if capability.as_path().is_none() {
                    all_providers
                        .entry(capability.as_str().to_owned())
                        .or_default()
                        .push(NodeIndex::new(i));
                }
            }
        }
        let mut diagnostics = Vec::new();
        for (i, resource) in resources.iter().enumerate() {
            let node = NodeIndex::new(i);
            for dependency in resource.depends_on() {
                match index_of.get(&dependency) {
                    Some(&from) => {
                        graph.update_edge(from, node, EdgeReason::Declared);
                    }
                    None => diagnostics.push(
                        Diagnostic::error(format!(
                            "depends on {dependency}, which the config does not declare"
                        ))
                        .for_resource(resource.id()),
                    ),
                }
            }
            for capability in resource.requires() {
                let from: Vec<NodeIndex> = match capability.as_path() {
                    Some(path) => ancestors(path)
                        .find_map(|p| providers.get(&format!("path:{p}")))
                        .copied()
                        .into_iter()
                        .collect(),
                    None => all_providers
                        .get(capability.as_str())
                        .cloned()
                        .unwrap_or_default(),
                };
                for from in from.into_iter().filter(|from| *from != node) {
                    graph.update_edge(from, node, EdgeReason::Requires(capability.to_string()));
                }
            }
        }
        if let Some(cycle) = find_cycle(&graph) {
            return Err(Error::Cycle {
                cycle,
                origins: Vec::new(),
            });
        }
        let (order, levels) = order(&graph);
        Ok((
            Graph {
                graph,
                order,
                levels,
            },
            diagnostics,
        ))
    }

    /// Resource indices in execution order: by level, then by id within a level.
    pub fn order(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().map(|n| n.index())
    }

    /// The level of a resource: 0 for one with no dependencies.
    pub fn level(&self, index: usize) -> usize {
        self.levels[index]
    }

    /// The indices of a resource's direct dependencies.
    pub fn dependencies(&self, index: usize) -> Vec<usize> {
        let mut deps: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(index), petgraph::Direction::Incoming)
            .map(|n| n.index())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        deps
    }

    /// The indices of a resource's direct dependents.
    pub fn dependents(&self, index: usize) -> Vec<usize> {
        let mut deps: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(index), petgraph::Direction::Outgoing)
            .map(|n| n.index())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        deps
    }

    /// The id of a resource.
    pub fn id(&self, index: usize) -> &ResourceId {
        &self.graph[NodeIndex::new(index)]
    }

    /// The number of resources.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether there are no resources.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Edges as `(dependency, dependent, reason)`, sorted.
    pub fn edges(&self) -> Vec<(ResourceId, ResourceId, EdgeReason)> {
        let mut edges: Vec<_> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    self.graph[e.source()].clone(),
                    self.graph[e.target()].clone(),
                    e.weight().clone(),
                )
            })
            .collect();
        edges.sort();
        edges
    }

    /// Renders the graph as text, Graphviz dot, or Mermaid.
    pub fn render(&self, format: GraphFormat) -> String {
        let mut out = String::new();
        match format {
            GraphFormat::Text => {
                for node in &self.order {
                    let _ = write!(out, "{}", self.graph[*node]);
                    let mut names: Vec<String> = self
                        .dependencies(node.index())
                        .iter()
                        .map(|d| self.id(*d).to_string())
                        .collect();
                    names.sort();
                    if !names.is_empty() {
                        let _ = write!(out, " <- {}", names.join(", "));
                    }
                    out.push('\n');
                }
            }
            GraphFormat::Dot => {
                out.push_str("digraph phoenix {\n  rankdir=LR;\n");
                for node in &self.order {
                    let _ = writeln!(out, "  {:?};", self.graph[*node].to_string());
                }
                for (from, to, reason) in self.edges() {
                    let style = match reason {
                        EdgeReason::Declared => String::new(),
                        EdgeReason::Requires(cap) => format!(" [style=dashed, label={cap:?}]"),
                    };
                    let _ = writeln!(
                        out,
                        "  {:?} -> {:?}{style};",
                        from.to_string(),
                        to.to_string()
                    );
                }
                out.push_str("}\n");
            }
            GraphFormat::Mermaid => {
                // Nodes are named by execution position, so the text does not depend on the
                // order in which the config declared them.
                let mut position = vec![0; self.graph.node_count()];
                for (pos, node) in self.order.iter().enumerate() {
                    position[node.index()] = pos;
                }
                out.push_str("graph LR\n");
                for (pos, node) in self.order.iter().enumerate() {
                    let label = self.graph[*node].to_string().replace('"', "#quot;");
                    let _ = writeln!(out, "  n{pos}[\"{label}\"]");
                }
                let mut edges: Vec<_> = self
                    .graph
                    .edge_references()
                    .map(|e| {
                        let declared = matches!(e.weight(), EdgeReason::Declared);
                        (
                            position[e.source().index()],
                            position[e.target().index()],
                            declared,
                        )
                    })
                    .collect();
                edges.sort_unstable();
                for (from, to, declared) in edges {
                    let arrow = if declared { "-->" } else { "-.->" };
                    let _ = writeln!(out, "  n{from} {arrow} n{to}");
                }
            }
        }
        out
    }
}

/// How to render a graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// One resource per line in execution order, with its dependencies.
    Text,
    /// Graphviz dot.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

/// A path and its ancestors, longest first: `/a/b`, `/a`, `/`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.rfind('/') {
            Some(0) if current.len() > 1 => Some("/"),
            Some(0) | None => None,
            Some(i) => Some(&current[..i]),
        };
        Some(current)
    })
}

fn find_cycle(graph: &DiGraph<ResourceId, EdgeReason>) -> Option<Vec<ResourceId>> {
    let mut cycles: Vec<Vec<ResourceId>> = Vec::new();
    for scc in tarjan_scc(graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        // Walk from the smallest id, always to the smallest successor inside the component,
        // until a node repeats: that closes a cycle, reported deterministically.
        let members: std::collections::BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc
            .iter()
            .min_by_key(|n| &graph[**n])
            .expect("invariant: scc is not empty");
        let mut path = vec![start];
        let mut current = start;
        loop {
            let next = graph
                .neighbors_directed(current, petgraph::Direction::Outgoing)
                .filter(|n| members.contains(n))
                .min_by_key(|n| &graph[*n])
                .expect("invariant: every node of a cycle has a successor in it");
            if let Some(pos) = path.iter().position(|n| *n == next) {
                let mut cycle: Vec<ResourceId> =
                    path[pos..].iter().map(|n| graph[*n].clone()).collect();
                cycle.push(graph[next].clone());
                cycles.push(cycle);
                break;
            }
            path.push(next);
            current = next;
        }
    }
    cycles.into_iter().min()
}

fn order(graph: &DiGraph<ResourceId, EdgeReason>) -> (Vec<NodeIndex>, Vec<usize>) {
    let topo = petgraph::algo::toposort(graph, None).unwrap_or_default();
    let mut levels = vec![0usize; graph.node_count()];
    for node in &topo {
        let level = graph
            .neighbors_directed(*node, petgraph::Direction::Incoming)
            .map(|dep| levels[dep.index()] + 1)
            .max()
            .unwrap_or(0);
        levels[node.index()] = level;
    }
    let mut order: Vec<NodeIndex> = graph.node_indices().collect();
    order.sort_by(|a, b| {
        levels[a.index()]
            .cmp(&levels[b.index()])
            .then_with(|| graph[*a].cmp(&graph[*b]))
    });
    (order, levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_walk_up_to_root() {
        assert_eq!(
            ancestors("/a/b/c").collect::<Vec<_>>(),
            ["/a/b/c", "/a/b", "/a", "/"]
        );
        assert_eq!(ancestors("/").collect::<Vec<_>>(), ["/"]);
    }
}
