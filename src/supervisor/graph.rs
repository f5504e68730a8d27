//! The dependency graph: names (and `provides` aliases) resolved to
//! services, cycles found and reported, and which services are selected
//! by corral.toml's `enabled` / `disabled` lists.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::ServiceFile;

/// A service's resolved dependencies (indexes into the service list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deps {
    pub after: Vec<usize>,
    pub requires: Vec<usize>,
    pub wants: Vec<usize>,
}

impl Deps {
    /// Every service this one waits for.
    pub fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.after
            .iter()
            .chain(&self.requires)
            .chain(&self.wants)
            .copied()
    }
}

/// The resolved graph.
#[derive(Debug, Default)]
pub struct Graph {
    pub deps: Vec<Deps>,
    /// Reverse edges: who waits for each service.
    pub dependents: Vec<Vec<usize>>,
    /// Per service: why it cannot start (unresolvable `requires`, a cycle).
    pub errors: Vec<Option<String>>,
    /// Dependencies that were ignored (unknown `after` / `wants`).
    pub warnings: Vec<String>,
}

/// Resolves the graph of services `names` whose definitions are `files`
/// (None: the definition could not be loaded; it has no edges).
pub fn build(names: &[String], files: &[Option<&ServiceFile>]) -> Graph {
    let index = name_index(names, files);
    let n = names.len();
    let mut g = Graph {
        deps: vec![Deps::default(); n],
        dependents: vec![Vec::new(); n],
        errors: vec![None; n],
        warnings: Vec::new(),
    };
    for (i, file) in files.iter().enumerate() {
        let Some(f) = file else { continue };
        let mut resolve = |list: &[String], required: bool| -> Vec<usize> {
            let mut out = Vec::new();
            for dep in list {
                match index.get(dep.as_str()) {
                    Some(targets) => out.extend(
                        targets
                            .iter()
                            .copied()
                            .filter(|t| *t != i || names[i] == *dep),
                    ),
                    None if required => {
                        g.errors[i].get_or_insert_with(|| {
                            format!("requires {dep:?}, which no service provides")
                        });
                    }
                    None => g.warnings.push(format!(
                        "{}: ignoring {dep:?} in after/wants: no such service",
                        names[i]
                    )),
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        };
        g.deps[i] = Deps {
            after: resolve(&f.after, false),
            requires: resolve(&f.requires, true),
            wants: resolve(&f.wants, false),
        };
    }
    for i in 0..n {
        let mut all: Vec<usize> = g.deps[i].all().collect();
        all.sort_unstable();
        all.dedup();
        for d in all {
            g.dependents[d].push(i);
        }
    }
    for cycle in cycles(&g.deps) {
        let path = cycle
            .iter()
            .map(|i| names[*i].as_str())
            .collect::<Vec<_>>()
            .join(" -> ");
        for i in &cycle {
            g.errors[*i] = Some(format!("dependency cycle: {path}"));
        }
    }
    g
}

/// Service names and `provides` aliases to the services behind them.
fn name_index<'a>(
    names: &'a [String],
    files: &[Option<&'a ServiceFile>],
) -> BTreeMap<&'a str, Vec<usize>> {
    let mut index: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        index.entry(name).or_default().push(i);
    }
    for (i, f) in files.iter().enumerate() {
        for p in f.iter().flat_map(|f| &f.provides) {
            let e = index.entry(p).or_default();
            if !e.contains(&i) {
                e.push(i);
            }
        }
    }
    index
}

/// Every cycle, one per strongly connected component that has one, as a
/// path that starts and ends at the same service.
fn cycles(deps: &[Deps]) -> Vec<Vec<usize>> {
    let adj: Vec<Vec<usize>> = deps.iter().map(|d| d.all().collect()).collect();
    tarjan(&adj)
        .into_iter()
        .filter(|scc| scc.len() > 1 || adj[scc[0]].contains(&scc[0]))
        .map(|scc| cycle_path(&adj, &scc))
        .collect()
}

/// Strongly connected components (Tarjan's algorithm).
fn tarjan(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct T<'a> {
        adj: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T<'_>, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on_stack[v] = true;
        for &w in &t.adj[v] {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on_stack[w] => t.low[v] = t.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on_stack[w] = false;
                scc.push(w);
                if w == v {
                    break;
                }
            }
            scc.sort_unstable();
            t.out.push(scc);
        }
    }
    let n = adj.len();
    let mut t = T {
        adj,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

/// A shortest path from the component's first member back to itself,
/// through members only.
fn cycle_path(adj: &[Vec<usize>], scc: &[usize]) -> Vec<usize> {
    let start = scc[0];
    let inside: BTreeSet<usize> = scc.iter().copied().collect();
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &adj[v] {
            if w == start {
                let mut path = vec![v];
                let mut cur = v;
                while let Some(&p) = parent.get(&cur) {
                    path.push(p);
                    cur = p;
                }
                if cur != start {
                    path.push(start);
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if inside.contains(&w) && !parent.contains_key(&w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut p = scc.to_vec();
    p.push(start);
    p
}

/// Which services run: with `enabled` non-empty only those and what they
/// require or want; never the `disabled` ones. Returns per service None
/// (selected) or why not, and warnings for unknown names.
pub fn select(
    names: &[String],
    deps: &[Deps],
    enabled: &[String],
    disabled: &[String],
) -> (Vec<Option<&'static str>>, Vec<String>) {
    let mut warnings = Vec::new();
    let find = |n: &String, list: &str, warnings: &mut Vec<String>| {
        let i = names.iter().position(|x| x == n);
        if i.is_none() {
            warnings.push(format!("[services] {list}: no service named {n:?}"));
        }
        i
    };
    let mut out = vec![None; names.len()];
    if !enabled.is_empty() {
        let mut keep = vec![false; names.len()];
        let mut todo: Vec<usize> = enabled
            .iter()
            .filter_map(|n| find(n, "enabled", &mut warnings))
            .collect();
        while let Some(i) = todo.pop() {
            if !keep[i] {
                keep[i] = true;
                todo.extend(deps[i].requires.iter().chain(&deps[i].wants));
            }
        }
        for (i, k) in keep.iter().enumerate() {
            if !k {
                out[i] = Some("not enabled");
            }
        }
    }
    for n in disabled {
        if let Some(i) = find(n, "disabled", &mut warnings) {
            out[i] = Some("disabled");
        }
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(after: &[&str], requires: &[&str], wants: &[&str], provides: &[&str]) -> ServiceFile {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        ServiceFile {
            after: v(after),
            requires: v(requires),
            wants: v(wants),
            provides: v(provides),
            ..Default::default()
        }
    }

    fn graph(spec: &[(&str, ServiceFile)]) -> (Vec<String>, Graph) {
        let names: Vec<String> = spec.iter().map(|(n, _)| n.to_string()).collect();
        let files: Vec<Option<&ServiceFile>> = spec.iter().map(|(_, f)| Some(f)).collect();
        let g = build(&names, &files);
        (names, g)
    }

    #[test]
    fn resolves_names_and_provides() {
        let (_, g) = graph(&[
            ("db", svc(&[], &[], &[], &["database"])),
            ("web", svc(&["net"], &["database"], &["cache"], &[])),
            ("net", svc(&[], &[], &[], &[])),
        ]);
        assert_eq!(
            g.deps[1],
            Deps {
                after: vec![2],
                requires: vec![0],
                wants: vec![]
            }
        );
        assert_eq!(g.dependents[0], [1]);
        assert_eq!(g.dependents[2], [1]);
        assert!(g.errors.iter().all(Option::is_none));
        assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
        assert!(g.warnings[0].contains("cache"));
    }

    #[test]
    fn unknown_requires_is_an_error_of_that_service() {
        let (_, g) = graph(&[("web", svc(&[], &["nope"], &[], &[]))]);
        assert!(g.errors[0].as_deref().unwrap().contains("\"nope\""));
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let (_, g) = graph(&[
            ("a", svc(&["b"], &[], &[], &[])),
            ("b", svc(&[], &["c"], &[], &[])),
            ("c", svc(&[], &[], &["a"], &[])),
            ("d", svc(&["a"], &[], &[], &[])),
            ("e", svc(&["e"], &[], &[], &[])),
        ]);
        let e = g.errors[0].as_deref().unwrap();
        assert_eq!(e, "dependency cycle: a -> b -> c -> a");
        assert_eq!(g.errors[1].as_deref(), Some(e));
        assert_eq!(g.errors[2].as_deref(), Some(e));
        assert!(g.errors[3].is_none(), "d only waits for a cycle");
        assert_eq!(g.errors[4].as_deref(), Some("dependency cycle: e -> e"));
    }

    #[test]
    fn two_node_cycle() {
        let (_, g) = graph(&[
            ("x", svc(&[], &["y"], &[], &[])),
            ("y", svc(&[], &["x"], &[], &[])),
        ]);
        assert_eq!(
            g.errors[0].as_deref(),
            Some("dependency cycle: x -> y -> x")
        );
    }

    #[test]
    fn providing_a_name_one_also_waits_for_is_not_a_cycle() {
        let (_, g) = graph(&[
            ("a", svc(&["log"], &[], &[], &["log"])),
            ("b", svc(&[], &[], &[], &["log"])),
        ]);
        assert!(g.errors[0].is_none());
        assert_eq!(g.deps[0].after, [1]);
    }

    #[test]
    fn selection_follows_enabled_and_disabled() {
        let (names, g) = graph(&[
            ("a", svc(&[], &["b"], &[], &[])),
            ("b", svc(&[], &[], &["c"], &[])),
            ("c", svc(&[], &[], &[], &[])),
            ("d", svc(&[], &[], &[], &[])),
        ]);
        let (sel, w) = select(&names, &g.deps, &["a".into()], &["c".into(), "zz".into()]);
        assert_eq!(sel, [None, None, Some("disabled"), Some("not enabled")]);
        assert_eq!(w.len(), 1);
        let (sel, _) = select(&names, &g.deps, &[], &[]);
        assert!(sel.iter().all(Option::is_none));
    }
}
