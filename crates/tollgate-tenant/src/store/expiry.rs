//! A map whose entries are forgotten at a deadline, with an index ordered by that deadline, so
//! that forgetting what is due costs work in proportion to what is forgotten (plus a logarithm),
//! never a walk over everything that is held.
//!
//! Every entry has a *forget-at* moment; [`Expiring::pop_due`] removes the entries whose moment
//! is at or before `now`, in deadline order. Whether an entry is still *valid* is the caller's
//! business (an authorization code, for one, is invalid at its expiry but remembered an hour
//! longer, so that a replay can be recognised): the forget-at moment is only when it goes.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::Moment;

/// Maps above this capacity are shrunk when they hold less than a quarter of it.
const SHRINK_ABOVE: usize = 1024;

/// Entries by key, each with the moment it is forgotten, and the index of those moments.
#[derive(Debug)]
pub(crate) struct Expiring<K, V> {
    entries: HashMap<K, (V, Moment)>,
    /// `(forget_at, key)` of every entry: the smallest is the next one due.
    index: BTreeSet<(Moment, K)>,
}

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            index: BTreeSet::new(),
        }
    }
}

impl<K: Hash + Eq + Ord + Clone, V> Expiring<K, V> {
    /// Inserts or replaces the entry at `key`, forgotten at `forget_at`; returns the old value.
    pub(crate) fn insert(&mut self, key: K, value: V, forget_at: Moment) -> Option<V> {
        let old = self.entries.insert(key.clone(), (value, forget_at));
        if let Some((_, old_at)) = &old {
            self.index.remove(&(*old_at, key.clone()));
        }
        self.index.insert((forget_at, key));
        old.map(|(value, _)| value)
    }

    /// Inserts like [`insert`](Self::insert), first forgetting the entries due soonest while
    /// `cap` or more other entries are held (so at most `cap` are held afterwards); returns how
    /// many were evicted.
    pub(crate) fn insert_capped(
        &mut self,
        key: K,
        value: V,
        forget_at: Moment,
        cap: usize,
    ) -> usize {
        let mut evicted = 0;
        if !self.entries.contains_key(&key) {
            while self.entries.len() >= cap.max(1) {
                let Some((_, first)) = self.index.pop_first() else {
                    break;
                };
                self.entries.remove(&first);
                evicted += 1;
            }
        }
        self.insert(key, value, forget_at);
        evicted
    }

    /// The value at `key`.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|(value, _)| value)
    }

    /// The value at `key`, to change (its forget-at moment stays).
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get_mut(key).map(|(value, _)| value)
    }

    /// Whether an entry is held at `key`.
    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }

    /// Removes the entry at `key`.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (key, (value, at)) = self.entries.remove_entry(key)?;
        self.index.remove(&(at, key));
        Some(value)
    }

    /// Removes every entry due at or before `now`, earliest first, handing each to `gone`;
    /// returns how many. Maps that emptied a lot are shrunk so that their memory is returned.
    pub(crate) fn pop_due(&mut self, now: Moment, mut gone: impl FnMut(K, V)) -> usize {
        let mut popped = 0;
        while self.index.first().is_some_and(|(at, _)| *at <= now) {
            let Some((_, key)) = self.index.pop_first() else {
                break;
            };
            if let Some((value, _)) = self.entries.remove(&key) {
                gone(key, value);
            }
            popped += 1;
        }
        if popped > 0 {
            self.shrink();
        }
        popped
    }

    /// The number of entries held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Compares every entry's deadline with `now`, as a purge without the index would; returns
    /// how many entries it looked at (for the benchmark's comparison).
    #[cfg(feature = "bench")]
    pub(crate) fn walk(&self, now: Moment) -> usize {
        let due = self.entries.values().filter(|(_, at)| *at <= now).count();
        std::hint::black_box(due);
        self.entries.len()
    }

    /// Gives memory back after many entries went.
    fn shrink(&mut self) {
        let capacity = self.entries.capacity();
        if capacity > SHRINK_ABOVE && self.entries.len() < capacity / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
        }
    }

    /// Every entry with its forget-at moment, in no particular order (for the state file).
    fn iter(&self) -> impl Iterator<Item = (&K, &V, Moment)> {
        self.entries.iter().map(|(k, (v, at))| (k, v, *at))
    }

    /// The capacity of the map (for the memory figures).
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }
}

/// Saved as a list of `[key, value, forget_at]`; the index is rebuilt when read.
impl<K: Serialize + Hash + Eq + Ord + Clone, V: Serialize> Serialize for Expiring<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, K, V> Deserialize<'de> for Expiring<K, V>
where
    K: Deserialize<'de> + Hash + Eq + Ord + Clone,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<(K, V, Moment)>::deserialize(deserializer)?;
        let mut map = Self::default();
        for (key, value, at) in entries {
            map.insert(key, value, at);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn at(secs: u64) -> Moment {
        Moment::default() + Duration::from_secs(secs)
    }

    #[test]
    fn pops_only_what_is_due_and_leaves_the_live_untouched() {
        let mut map = Expiring::default();
        map.insert("old".to_owned(), 1, at(10));
        map.insert("live".to_owned(), 2, at(20));
        let mut gone = Vec::new();
        assert_eq!(map.pop_due(at(10), |k, v| gone.push((k, v))), 1);
        assert_eq!(gone, vec![("old".to_owned(), 1)]);
        assert_eq!(map.get("old"), None);
        assert_eq!(map.get("live"), Some(&2));
        assert_eq!(map.pop_due(at(19), |_, _| {}), 0);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn replacing_and_removing_keep_the_index_in_step() {
        let mut map = Expiring::default();
        map.insert("k".to_owned(), 1, at(10));
        assert_eq!(map.insert("k".to_owned(), 2, at(30)), Some(1));
        assert_eq!(map.pop_due(at(20), |_, _| {}), 0, "the old deadline went");
        assert_eq!(map.remove("k"), Some(2));
        assert_eq!(
            map.pop_due(at(40), |_, _| {}),
            0,
            "the removed entry left the index"
        );
        assert_eq!(map.index.len(), 0);
    }

    #[test]
    fn the_cap_evicts_the_entries_due_soonest() {
        let mut map = Expiring::default();
        for (n, secs) in [(1, 50), (2, 10), (3, 30)] {
            map.insert_capped(n, (), at(secs), 3);
        }
        assert_eq!(map.insert_capped(4, (), at(40), 3), 1);
        assert!(!map.contains_key(&2), "the one due first is evicted");
        assert!(map.contains_key(&1) && map.contains_key(&3) && map.contains_key(&4));
        assert_eq!(
            map.insert_capped(4, (), at(60), 3),
            0,
            "a replacement evicts nothing"
        );
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn a_map_that_emptied_gives_its_memory_back() {
        let mut map = Expiring::default();
        for n in 0..20_000u32 {
            map.insert(n, n, at(u64::from(n % 100)));
        }
        let full = map.capacity();
        map.insert(u32::MAX, 0, at(1_000));
        assert_eq!(map.pop_due(at(100), |_, _| {}), 20_000);
        assert_eq!(map.len(), 1);
        assert!(map.capacity() < full / 100, "{} of {full}", map.capacity());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u16),
        Remove(u8),
        Pop(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u8>(), any::<u16>()).prop_map(|(k, t)| Op::Insert(k, t)),
            any::<u8>().prop_map(Op::Remove),
            any::<u16>().prop_map(Op::Pop),
        ]
    }

    proptest! {
        /// The index agrees with a naive map that is walked in full at every purge.
        #[test]
        fn agrees_with_a_naive_walk(ops in proptest::collection::vec(op(), 0..200)) {
            let mut map = Expiring::default();
            let mut naive: HashMap<u8, (u32, u16)> = HashMap::new();
            for (n, op) in ops.into_iter().enumerate() {
                let value = u32::try_from(n).unwrap_or(u32::MAX);
                match op {
                    Op::Insert(k, t) => {
                        map.insert(k, value, at(u64::from(t)));
                        naive.insert(k, (value, t));
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(map.remove(&k), naive.remove(&k).map(|(v, _)| v));
                    }
                    Op::Pop(t) => {
                        let mut gone = Vec::new();
                        map.pop_due(at(u64::from(t)), |k, v| gone.push((k, v)));
                        let mut expected: Vec<(u8, u32)> = naive
                            .iter()
                            .filter(|(_, (_, due))| *due <= t)
                            .map(|(k, (v, _))| (*k, *v))
                            .collect();
                        naive.retain(|_, (_, due)| *due > t);
                        gone.sort_unstable();
                        expected.sort_unstable();
                        prop_assert_eq!(gone, expected);
                    }
                }
                prop_assert_eq!(map.len(), naive.len());
                prop_assert_eq!(map.index.len(), naive.len());
                for (k, (v, _)) in &naive {
                    prop_assert_eq!(map.get(k), Some(v));
                }
            }
        }
    }
}
