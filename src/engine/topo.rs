//! Graph algorithms on node indexes: stable topological order, cycles, reachability, ancestry, dominators.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Adjacency lists of a directed graph whose nodes are `0..n` in document order.
pub(crate) struct Adjacency {
    pub succ: Vec<Vec<usize>>,
    pub pred: Vec<Vec<usize>>,
}

impl Adjacency {
    pub fn new(n: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut adj = Adjacency {
            succ: vec![Vec::new(); n],
            pred: vec![Vec::new(); n],
        };
        for (s, t) in edges {
            adj.succ[s].push(t);
            adj.pred[t].push(s);
        }
        adj
    }

    /// Kahn's algorithm, always taking the ready node earliest in the
    /// document, so the order is stable for a given document. `Err` carries
    /// the nodes left over: each lies on or downstream of a cycle.
    pub fn topological_order(&self, alive: &[bool]) -> Result<Vec<usize>, Vec<usize>> {
        let n = self.succ.len();
        let mut indegree = vec![0usize; n];
        for (t, preds) in self.pred.iter().enumerate() {
            indegree[t] = preds.iter().filter(|&&p| alive[p]).count();
        }
        let mut ready: BinaryHeap<Reverse<usize>> = (0..n)
            .filter(|&i| alive[i] && indegree[i] == 0)
            .map(Reverse)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for &t in &self.succ[i] {
                if alive[t] {
                    indegree[t] -= 1;
                    if indegree[t] == 0 {
                        ready.push(Reverse(t));
                    }
                }
            }
        }
        if order.len() == alive.iter().filter(|a| **a).count() {
            Ok(order)
        } else {
            let mut seen = vec![false; n];
            order.iter().for_each(|&i| seen[i] = true);
            Err((0..n).filter(|&i| alive[i] && !seen[i]).collect())
        }
    }

    /// Every distinct cycle found, each as its nodes in edge direction,
    /// starting at its earliest node in document order.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let n = self.succ.len();
        let mut alive = vec![true; n];
        let mut found = Vec::new();
        while let Err(left) = self.topological_order(&alive) {
            let in_left = |i: usize| left.binary_search(&i).is_ok();
            // Every leftover node has a leftover predecessor, so walking
            // backwards must revisit a node: that loop is a cycle.
            let mut path = vec![left[0]];
            let cycle = loop {
                let here = *path.last().expect("non-empty");
                let prev = *self.pred[here]
                    .iter()
                    .find(|&&p| alive[p] && in_left(p))
                    .expect("leftover has a leftover predecessor");
                if let Some(pos) = path.iter().position(|&p| p == prev) {
                    let mut cycle: Vec<usize> = path[pos..].to_vec();
                    cycle.reverse();
                    break cycle;
                }
                path.push(prev);
            };
            let start = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, &i)| i)
                .map_or(0, |(k, _)| k);
            let mut cycle = cycle;
            cycle.rotate_left(start);
            cycle.iter().for_each(|&i| alive[i] = false);
            found.push(cycle);
        }
        found
    }

    /// Nodes reachable from `from` following edges forward (`from` included).
    pub fn reachable(&self, from: usize) -> Vec<bool> {
        walk(&self.succ, from)
    }

    /// Nodes from which `to` can be reached (`to` itself excluded unless on a cycle).
    pub fn ancestors(&self, to: usize) -> Vec<bool> {
        let mut seen = vec![false; self.pred.len()];
        let mut stack: Vec<usize> = self.pred[to].clone();
        while let Some(i) = stack.pop() {
            if !seen[i] {
                seen[i] = true;
                stack.extend(&self.pred[i]);
            }
        }
        seen
    }

    /// For each node `i` reachable from `root`, the set of nodes lying on
    /// every path from `root` to `i` (its dominators, `root` and `i`
    /// included) as flags by node index; `None` for unreachable nodes.
    ///
    /// The classic iterative data-flow algorithm: a node's dominators are
    /// itself plus the intersection of its reachable predecessors'
    /// dominators, repeated to a fixpoint. Visiting nodes in topological
    /// order settles an acyclic graph in one pass (the second only confirms);
    /// a cyclic one (already an error) still converges, just later.
    pub fn dominators(&self, root: usize) -> Vec<Option<Vec<bool>>> {
        let n = self.succ.len();
        let reachable = self.reachable(root);
        let order = self
            .topological_order(&vec![true; n])
            .unwrap_or_else(|_| (0..n).collect());
        let mut dom: Vec<Option<Vec<bool>>> =
            (0..n).map(|i| reachable[i].then(|| reachable.clone())).collect();
        let mut only_root = vec![false; n];
        only_root[root] = true;
        dom[root] = Some(only_root);
        let mut changed = true;
        while changed {
            changed = false;
            for &i in order.iter().filter(|&&i| i != root && reachable[i]) {
                let mut meet = reachable.clone();
                for &p in self.pred[i].iter().filter(|&&p| reachable[p]) {
                    let of_p = dom[p].as_ref().expect("reachable node has a set");
                    meet.iter_mut().zip(of_p).for_each(|(m, d)| *m &= *d);
                }
                meet[i] = true;
                if dom[i].as_ref() != Some(&meet) {
                    dom[i] = Some(meet);
                    changed = true;
                }
            }
        }
        dom
    }
}

fn walk(adj: &[Vec<usize>], from: usize) -> Vec<bool> {
    let mut seen = vec![false; adj.len()];
    let mut stack = vec![from];
    while let Some(i) = stack.pop() {
        if !seen[i] {
            seen[i] = true;
            stack.extend(&adj[i]);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_topological_and_prefers_document_order() {
        // 0 -> 3, 0 -> 1, 1 -> 2, 3 -> 2
        let adj = Adjacency::new(4, [(0, 3), (0, 1), (1, 2), (3, 2)]);
        assert_eq!(adj.topological_order(&[true; 4]), Ok(vec![0, 1, 3, 2]));
    }

    #[test]
    fn finds_each_cycle_once_in_edge_direction() {
        // 0 -> 1 -> 2 -> 1, and 3 -> 4 -> 3, and 2 -> 5
        let adj = Adjacency::new(6, [(0, 1), (1, 2), (2, 1), (3, 4), (4, 3), (2, 5)]);
        assert_eq!(adj.cycles(), vec![vec![1, 2], vec![3, 4]]);
        let self_loop = Adjacency::new(2, [(0, 1), (1, 1)]);
        assert_eq!(self_loop.cycles(), vec![vec![1]]);
        assert!(Adjacency::new(3, [(0, 1), (1, 2)]).cycles().is_empty());
    }

    #[test]
    fn dominators_are_the_nodes_on_every_path() {
        // 0 -> 1 -> 3 and 0 -> 2 -> 3 (a diamond), 3 -> 4, 1 -> 5; 6 is
        // unreachable; 7 comes before its predecessor 4 in the document.
        let adj = Adjacency::new(
            8,
            [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (1, 5), (4, 7), (6, 7)],
        );
        let dom = adj.dominators(0);
        let set = |i: usize| {
            dom[i]
                .as_ref()
                .map(|d| (0..8).filter(|&j| d[j]).collect::<Vec<_>>())
        };
        assert_eq!(set(0), Some(vec![0]));
        assert_eq!(set(1), Some(vec![0, 1]));
        assert_eq!(set(3), Some(vec![0, 3]), "neither branch is on every path");
        assert_eq!(set(4), Some(vec![0, 3, 4]));
        assert_eq!(set(5), Some(vec![0, 1, 5]));
        assert_eq!(set(6), None);
        assert_eq!(
            set(7),
            Some(vec![0, 3, 4, 7]),
            "an unreachable predecessor adds no path"
        );
    }

    #[test]
    fn dominators_converge_on_a_cycle() {
        // 0 -> 1 -> 2 -> 1, 2 -> 3, and a second way into the loop 0 -> 2.
        let adj = Adjacency::new(4, [(0, 1), (1, 2), (2, 1), (2, 3), (0, 2)]);
        let dom = adj.dominators(0);
        let set = |i: usize| {
            dom[i]
                .as_ref()
                .map(|d| (0..4).filter(|&j| d[j]).collect::<Vec<_>>())
        };
        assert_eq!(set(1), Some(vec![0, 1]));
        assert_eq!(set(2), Some(vec![0, 2]));
        assert_eq!(set(3), Some(vec![0, 2, 3]));
    }

    #[test]
    fn reachability_and_ancestry() {
        let adj = Adjacency::new(5, [(0, 1), (1, 2), (3, 2)]);
        assert_eq!(adj.reachable(0), vec![true, true, true, false, false]);
        assert_eq!(adj.ancestors(2), vec![true, true, false, true, false]);
    }
}
