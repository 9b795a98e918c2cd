//! Per-destination counters, one table per worker. IPv4 destinations (nearly all
//! flows) get a small index from address to slot, which stays in the processor's
//! cache, and dense slots of one cache line holding up to five ports each: one
//! probe into the index and one cache line touched per record. Anything else
//! (IPv6 on either end, a sixth port, counts past 32 bits, times after 2106) goes
//! to ordinary maps.
//!
//! A worker seals its table when it ends: the slots in address order, the maps'
//! entries sorted. Sealed tables (and lists of destinations, where many tables
//! were added up) are then read together, a range of addresses at a time, each
//! destination made once from all of them.

use super::{Destination, FlowRecord, PortCount, V4Flow};
use crate::engine::egress::lowest;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr};

/// Ports kept inside a slot.
const INLINE: usize = 5;

/// When and from where a destination was reached.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    /// Earliest start (`u64::MAX`: none seen).
    first: u64,
    /// Latest end, or start when a record has no end (meaningful with `TIMED`).
    last: u64,
    /// The lowest IPv4 source (meaningful with `SOURCE`): the same whatever order
    /// the workers read the blocks in.
    source: u32,
    flags: u8,
}

/// `Seen::flags`: a time was seen.
const TIMED: u8 = 1;
/// `Seen::flags`: an IPv4 source was seen.
const SOURCE: u8 = 2;

/// Keeps the lower of a kept IPv4 source (if `flags` has `SOURCE`) and `source`.
#[inline]
fn keep_lowest(kept: &mut u32, flags: &mut u8, source: Option<u32>) {
    if let Some(s) = source {
        if *flags & SOURCE == 0 || s < *kept {
            *kept = s;
        }
        *flags |= SOURCE;
    }
}

impl Seen {
    const NONE: Seen = Seen {
        first: u64::MAX,
        last: 0,
        source: 0,
        flags: 0,
    };

    #[inline]
    fn add(&mut self, r: &FlowRecord, source: Option<u32>) {
        if let Some(s) = r.start {
            self.first = self.first.min(s);
        }
        if let Some(e) = r.end.or(r.start) {
            self.last = self.last.max(e);
            self.flags |= TIMED;
        }
        keep_lowest(&mut self.source, &mut self.flags, source);
    }

    fn source(&self) -> Option<IpAddr> {
        (self.flags & SOURCE != 0).then(|| IpAddr::V4(Ipv4Addr::from(self.source)))
    }

    /// Folds these times and this source into a destination.
    fn fold_into(&self, d: &mut Destination, source: Option<IpAddr>) {
        d.first_seen = lowest(d.first_seen, (self.first != u64::MAX).then_some(self.first));
        d.last_seen = d
            .last_seen
            .max((self.flags & TIMED != 0).then_some(self.last));
        d.sample_source = lowest(d.sample_source, source);
    }
}

/// One IPv4 destination in one cache line: its times and lowest source, and up to
/// five ports with 32-bit counts. A port's counts that would pass 32 bits move to
/// `Table::more`, and a record whose times do not fit 32 bits (after 2106) goes to
/// `Table::other`; both keep 64 bits, and are added in when the table is read.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(64))]
struct Slot {
    /// Earliest start (`u32::MAX`: none seen).
    first: u32,
    /// Latest end, or start when a record has no end (meaningful with `TIMED`).
    last: u32,
    /// The lowest IPv4 source (meaningful with `SOURCE`).
    source: u32,
    flags: u8,
    used: u8,
    ports: [u16; INLINE],
    flows: [u32; INLINE],
    bytes: [u32; INLINE],
}

// One cache line, no more.
const _: () = assert!(std::mem::size_of::<Slot>() == 64);

impl Slot {
    const EMPTY: Slot = Slot {
        first: u32::MAX,
        last: 0,
        source: 0,
        flags: 0,
        used: 0,
        ports: [0; INLINE],
        flows: [0; INLINE],
        bytes: [0; INLINE],
    };

    #[inline]
    fn add_seen(&mut self, (first, last): (u32, Option<u32>), source: Option<u32>) {
        self.first = self.first.min(first);
        if let Some(e) = last {
            self.last = self.last.max(e);
            self.flags |= TIMED;
        }
        keep_lowest(&mut self.source, &mut self.flags, source);
    }

    /// These times and this source as a [`Seen`].
    fn seen(&self) -> Seen {
        Seen {
            first: if self.first == u32::MAX {
                u64::MAX
            } else {
                u64::from(self.first)
            },
            last: u64::from(self.last),
            source: self.source,
            flags: self.flags,
        }
    }
}

impl PortCount {
    #[inline]
    fn add(&mut self, o: PortCount) {
        self.flows += o.flows;
        self.bytes += o.bytes;
    }
}

/// Accepted traffic per destination.
#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    /// IPv4 destination → its slot in `slots`.
    index: FxHashMap<u32, u32>,
    slots: Vec<Slot>,
    /// Ports beyond a slot's five, keyed by `slot << 16 | port`.
    more: FxHashMap<u64, PortCount>,
    /// Everything with IPv6 on either end, per destination and port, with its
    /// counts, times and lowest source.
    other: FxHashMap<(IpAddr, u16), (PortCount, Seen, Option<IpAddr>)>,
}

impl Table {
    /// Adds a record to the map for everything that is not IPv4 on both ends.
    fn add_other(&mut self, r: &FlowRecord) {
        let (c, seen, source) = self.other.entry((r.dst, r.dst_port)).or_insert((
            PortCount::default(),
            Seen::NONE,
            None,
        ));
        c.add(PortCount {
            flows: 1,
            bytes: r.bytes,
        });
        seen.add(r, None);
        *source = lowest(*source, r.src);
    }

    /// Adds a batch of general records: those with a compact form as
    /// [`Table::add_v4_batch`] adds them, the rest to the maps.
    pub(super) fn add_batch(&mut self, records: &[FlowRecord]) {
        for group in records.chunks(64) {
            let mut compact = [V4Flow::default(); 64];
            let mut n = 0;
            for r in group {
                match (V4Flow::of(r), compact.get_mut(n)) {
                    (Some(flow), Some(place)) => {
                        *place = flow;
                        n += 1;
                    }
                    _ => self.add_other(r),
                }
            }
            self.add_v4_batch(compact.get(..n).unwrap_or_default());
        }
    }

    /// Adds compact IPv4 records: the slots of up to 64 are looked up and read
    /// together first, so that the processor waits for their cache misses in
    /// parallel rather than one record after another.
    pub(super) fn add_v4_batch(&mut self, records: &[V4Flow]) {
        for group in records.chunks(64) {
            self.add_v4_group(group);
        }
    }

    #[inline]
    fn add_v4_group(&mut self, records: &[V4Flow]) {
        let mut slots = [0u32; 64];
        for (s, r) in slots.iter_mut().zip(records) {
            *s = self.slot_index(r.dst);
        }
        touch(&self.slots, slots.iter().copied().take(records.len()));
        for (r, &i) in records.iter().zip(&slots) {
            let has = |f: u8| r.flags & f != 0;
            let first = if has(V4Flow::HAS_START) {
                r.start
            } else {
                u32::MAX
            };
            let last = if has(V4Flow::HAS_END) {
                Some(r.end)
            } else {
                has(V4Flow::HAS_START).then_some(r.start)
            };
            let source = has(V4Flow::HAS_SRC).then_some(r.src);
            self.add_to_slot(i, r.port, r.bytes, |s| s.add_seen((first, last), source));
        }
    }

    /// The slot of an IPv4 destination, made if new.
    #[inline]
    fn slot_index(&mut self, dst: u32) -> u32 {
        let next = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        let i = *self.index.entry(dst).or_insert(next);
        if i == next {
            self.slots.push(Slot::EMPTY);
        }
        i
    }

    /// Counts a record of `bytes` to `port` in slot `i`; `seen` adds its times and
    /// source. A sixth port goes to `more`, and so do a port's counts when they
    /// would pass 32 bits.
    #[inline]
    fn add_to_slot(&mut self, i: u32, port: u16, bytes: u64, seen: impl FnOnce(&mut Slot)) {
        let Some(slot) = self.slots.get_mut(i as usize) else {
            return;
        };
        seen(slot);
        let used = usize::from(slot.used);
        // Which of the slot's ports is this one, found without a branch per port
        // (a destination's ports come in no predictable order).
        let mut hits = 0u32;
        for (k, &p) in slot.ports.iter().enumerate() {
            hits |= u32::from(p == port) << k;
        }
        hits &= (1u32 << used) - 1;
        let k = match (hits != 0).then(|| hits.trailing_zeros() as usize) {
            Some(k) => k,
            None if used < INLINE => {
                if let Some(p) = slot.ports.get_mut(used) {
                    *p = port;
                    slot.used += 1;
                }
                used
            }
            None => INLINE,
        };
        let spill = match (slot.flows.get_mut(k), slot.bytes.get_mut(k)) {
            (Some(f), Some(b)) => {
                let sum = u32::try_from(bytes).ok().and_then(|n| b.checked_add(n));
                match (f.checked_add(1), sum) {
                    (Some(flows), Some(sum)) => {
                        (*f, *b) = (flows, sum);
                        None
                    }
                    // Full: the port's counts so far move to `more` with this
                    // record, and count again from zero (so a busy port spills
                    // once every 4 GiB, not at every record after that).
                    _ => {
                        let moved = PortCount {
                            flows: u64::from(*f) + 1,
                            bytes: u64::from(*b) + bytes,
                        };
                        (*f, *b) = (0, 0);
                        Some(moved)
                    }
                }
            }
            _ => Some(PortCount { flows: 1, bytes }),
        };
        if let Some(count) = spill {
            self.more
                .entry(u64::from(i) << 16 | u64::from(port))
                .or_default()
                .add(count);
        }
    }

    /// Whether no record was counted.
    pub(super) fn is_empty(&self) -> bool {
        self.index.is_empty() && self.other.is_empty()
    }

    /// The table made ready to be read by address (see [`destinations`]).
    pub(super) fn seal(self) -> Sealed {
        let mut order: Vec<(u32, u32)> = self.index.iter().map(|(&a, &i)| (a, i)).collect();
        order.sort_unstable();
        // The slots copied in address order (read at random here, where they are
        // in this core's cache, so that they are read in order later), and where
        // each went.
        let mut position = vec![0u32; self.slots.len()];
        let mut slots = Vec::with_capacity(order.len());
        for group in order.chunks(16) {
            touch(&self.slots, group.iter().map(|&(_, i)| i));
            for &(_, i) in group {
                if let (Some(p), Some(s)) =
                    (position.get_mut(i as usize), self.slots.get(i as usize))
                {
                    *p = u32::try_from(slots.len()).unwrap_or(u32::MAX);
                    slots.push(*s);
                }
            }
        }
        let mut more: Vec<(u32, u16, PortCount)> = self
            .more
            .iter()
            .map(|(&key, &count)| {
                let at = position
                    .get((key >> 16) as usize)
                    .copied()
                    .unwrap_or(u32::MAX);
                (at, key as u16, count)
            })
            .collect();
        more.sort_unstable_by_key(|&(at, port, _)| (at, port));
        let mut other: Vec<Other> = self
            .other
            .iter()
            .map(|(&(ip, port), &(count, seen, source))| (ip, port, count, seen, source))
            .collect();
        other.sort_unstable_by_key(|&(ip, port, ..)| (ip, port));
        Sealed {
            addresses: order.into_iter().map(|(a, _)| a).collect(),
            slots,
            more,
            other,
        }
    }
}

/// A map entry of [`Table::other`]: destination, port, counts, times and lowest source.
type Other = (IpAddr, u16, PortCount, Seen, Option<IpAddr>);

/// A table whose contents are sorted by address: its IPv4 destinations and
/// their slots, the ports its slots spilled (by slot), and its map entries.
#[derive(Debug, Clone, Default)]
pub(super) struct Sealed {
    /// IPv4 destinations in address order.
    addresses: Vec<u32>,
    /// The slot of each address, in the same order.
    slots: Vec<Slot>,
    /// (slot, port, counts), in slot order.
    more: Vec<(u32, u16, PortCount)>,
    /// In address order.
    other: Vec<Other>,
}

impl Sealed {
    /// Adds slot `i` (and the ports it spilled) to a destination.
    fn slot_into(&self, i: usize, d: &mut Destination) {
        let Some(s) = self.slots.get(i) else {
            return;
        };
        let seen = s.seen();
        seen.fold_into(d, seen.source());
        let used = usize::from(s.used);
        let ports = s.ports.get(..used).unwrap_or_default();
        let counts = ports
            .iter()
            .zip(&s.flows)
            .zip(&s.bytes)
            .map(|((&port, &flows), &bytes)| {
                let count = PortCount {
                    flows: u64::from(flows),
                    bytes: u64::from(bytes),
                };
                (port, count)
            });
        if d.ports.is_empty() {
            // The slot's ports (each once) put in order by their ranks, with no
            // branch per comparison.
            let mut sorted = [(0u16, PortCount::default()); INLINE];
            for (port, count) in counts {
                d.flows += count.flows;
                d.bytes += count.bytes;
                let rank = ports.iter().map(|&q| usize::from(q < port)).sum::<usize>();
                if let Some(place) = sorted.get_mut(rank) {
                    *place = (port, count);
                }
            }
            d.ports
                .extend_from_slice(sorted.get(..used).unwrap_or_default());
        } else {
            for (port, count) in counts {
                d.add_port(port, count);
            }
        }
        if !self.more.is_empty() {
            let from = self.more.partition_point(|m| (m.0 as usize) < i);
            let spilled = self.more.get(from..).unwrap_or_default();
            for &(_, port, count) in spilled.iter().take_while(|m| m.0 as usize == i) {
                d.add_port(port, count);
            }
        }
    }
}

/// A list of destinations in address order, each with its ports in order.
pub(super) type Destinations = Vec<(IpAddr, Destination)>;

/// Addresses from `from` (`None`: the lowest) up to `to` (`None`: the highest),
/// that one excluded.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Span {
    pub(super) from: Option<IpAddr>,
    pub(super) to: Option<IpAddr>,
}

impl Span {
    /// Where the items of `sorted` (in the order of their addresses, `at`) that
    /// are in the span are.
    fn of<T>(&self, sorted: &[T], at: impl Fn(&T) -> IpAddr) -> std::ops::Range<usize> {
        let lo = sorted.partition_point(|x| self.from.is_some_and(|f| at(x) < f));
        let hi = sorted.partition_point(|x| self.to.is_none_or(|t| at(x) < t));
        lo..hi.max(lo)
    }

    /// A table's slots in the span (where they are) and its map entries.
    fn of_table<'a>(&self, t: &'a Sealed) -> (std::ops::Range<usize>, &'a [Other]) {
        let slots = self.of(&t.addresses, |&a| IpAddr::V4(Ipv4Addr::from(a)));
        let other = t.other.get(self.of(&t.other, |o| o.0)).unwrap_or_default();
        (slots, other)
    }

    /// The part of a list in the span.
    fn of_list<'a>(&self, l: &'a Destinations) -> &'a [(IpAddr, Destination)] {
        l.get(self.of(l, |(ip, _)| *ip)).unwrap_or_default()
    }
}

/// The destinations of `tables` and of `lists` (each in address order) in `span`,
/// in address order, each with its ports in order: what every table and list
/// holds for an address, added together.
pub(super) fn destinations(tables: &[Sealed], lists: &[&Destinations], span: Span) -> Destinations {
    let mut out = Vec::new();
    each_destination(tables, lists, span, |ip, d| {
        out.push((ip, d.clone()));
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {});
    out
}

/// At least as many destinations as [`destinations`] lists for the span (an
/// address in several tables or lists counts once for each).
pub(super) fn room(tables: &[Sealed], lists: &[&Destinations], span: Span) -> usize {
    let in_tables = tables.iter().map(|t| {
        let (slots, other) = span.of_table(t);
        slots.len() + other.len()
    });
    let in_lists = lists.iter().map(|l| span.of_list(l).len());
    in_tables.chain(in_lists).sum()
}

/// Calls `f` with each destination [`destinations`] lists, in order, built in one
/// place that is reused (so none is allocated); stops at the first error `f`
/// returns.
pub(super) fn each_destination<E>(
    tables: &[Sealed],
    lists: &[&Destinations],
    span: Span,
    mut f: impl FnMut(IpAddr, &Destination) -> Result<(), E>,
) -> Result<(), E> {
    let v4 = |a: u32| IpAddr::V4(Ipv4Addr::from(a));
    // Each table's part of the span (its slots still to read, and its map
    // entries), and each list's.
    let mut parts: Vec<(std::ops::Range<usize>, &[Other])> =
        tables.iter().map(|t| span.of_table(t)).collect();
    let mut listed: Vec<&[(IpAddr, Destination)]> = lists.iter().map(|l| span.of_list(l)).collect();
    let mut d = Destination::default();
    loop {
        let next = parts
            .iter()
            .zip(tables)
            .flat_map(|((slots, other), t)| {
                let slot = t
                    .addresses
                    .get(slots.start)
                    .filter(|_| slots.start < slots.end);
                [slot.map(|&a| v4(a)), other.first().map(|o| o.0)]
            })
            .chain(listed.iter().map(|l| l.first().map(|(ip, _)| *ip)))
            .flatten()
            .min();
        let Some(ip) = next else {
            break;
        };
        d.clear();
        for ((slots, other), t) in parts.iter_mut().zip(tables) {
            let at = slots.start;
            if slots.start < slots.end && t.addresses.get(at).map(|&a| v4(a)) == Some(ip) {
                t.slot_into(at, &mut d);
                slots.start += 1;
            }
            while let Some(((at, port, count, seen, source), rest)) = other.split_first() {
                if *at != ip {
                    break;
                }
                seen.fold_into(&mut d, *source);
                d.add_port(*port, *count);
                *other = rest;
            }
        }
        for list in &mut listed {
            if let Some(((at, o), rest)) = list.split_first() {
                if *at == ip {
                    d.add(o);
                    *list = rest;
                }
            }
        }
        // Ports added from other tables and the maps come after the first's.
        if !d.ports.is_sorted_by_key(|(p, _)| *p) {
            d.ports.sort_unstable_by_key(|(p, _)| *p);
        }
        f(ip, &d)?;
    }
    Ok(())
}

/// Reads each of these slots, so that the processor waits for their cache misses
/// together, before they are used one after another.
#[inline]
fn touch(slots: &[Slot], which: impl Iterator<Item = u32>) {
    let mut touched = 0u64;
    for i in which {
        if let Some(s) = slots.get(i as usize) {
            touched = touched.wrapping_add(u64::from(s.first));
        }
    }
    std::hint::black_box(touched);
}

/// The fewest destinations [`split`] puts in a range.
const MIN_RANGE: usize = 1024;

/// Addresses that split the destinations of `tables` and `lists` into up to `n`
/// ranges of about the same number (fewer when there are few), in order, each the
/// first of its range but the first range's.
pub(super) fn split(tables: &[Sealed], lists: &[&Destinations], n: usize) -> Vec<IpAddr> {
    // A range of fewer destinations is not worth a thread.
    let picks = |len: usize| {
        let n = n.min(len / MIN_RANGE).max(1);
        (1..n).map(move |k| len * k / n)
    };
    // The addresses of the longest sorted run (a table's IPv4 slots, its map
    // entries, or a list) stand for all.
    let mut longest = (0, Vec::new());
    let mut consider = |len: usize, at: &dyn Fn(usize) -> Option<IpAddr>| {
        if len > longest.0 {
            longest = (len, picks(len).filter_map(at).collect());
        }
    };
    for t in tables {
        consider(t.addresses.len(), &|k| {
            t.addresses.get(k).map(|&a| IpAddr::V4(Ipv4Addr::from(a)))
        });
        consider(t.other.len(), &|k| t.other.get(k).map(|o| o.0));
    }
    for l in lists {
        consider(l.len(), &|k| l.get(k).map(|(ip, _)| *ip));
    }
    let mut bounds = longest.1;
    bounds.dedup();
    bounds
}

impl Destination {
    /// Empties it, keeping its room.
    fn clear(&mut self) {
        self.flows = 0;
        self.bytes = 0;
        self.first_seen = None;
        self.last_seen = None;
        self.sample_source = None;
        self.ports.clear();
    }

    /// Adds another count of the same destination.
    fn add(&mut self, o: &Destination) {
        self.first_seen = lowest(self.first_seen, o.first_seen);
        self.last_seen = self.last_seen.max(o.last_seen);
        self.sample_source = lowest(self.sample_source, o.sample_source);
        // The other's flows and bytes are its ports' (as in every destination).
        for &(port, count) in &o.ports {
            self.add_port(port, count);
        }
    }

    fn add_port(&mut self, port: u16, count: PortCount) {
        self.flows += count.flows;
        self.bytes += count.bytes;
        match self.ports.iter_mut().find(|(p, _)| *p == port) {
            Some((_, c)) => c.add(count),
            None => self.ports.push((port, count)),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A table's destinations, as one list.
    fn listed(t: Table) -> Destinations {
        destinations(&[t.seal()], &[], Span::default())
    }

    fn v4_flow() -> impl Strategy<Value = V4Flow> {
        (
            0u32..40,
            any::<u32>(),
            prop_oneof![0u64..100_000, 2_000_000_000u64..5_000_000_000],
            prop_oneof![any::<u32>(), 1_700_000_000u32..1_700_000_100],
            any::<u32>(),
            0u16..8,
            0u8..8,
        )
            .prop_map(|(d, src, bytes, start, end, port, flags)| V4Flow {
                dst: 0xC633_6400 | d,
                src,
                bytes,
                start: start.min(u32::MAX - 1),
                end,
                port: port * 100,
                flags,
            })
    }

    proptest! {
        /// Compact IPv4 records, in batches of any size, count as their general
        /// records do.
        #[test]
        fn compact_records_count_as_general_ones(
            records in proptest::collection::vec(v4_flow(), 0..300),
            group in 1usize..100,
        ) {
            let mut compact = Table::default();
            for batch in records.chunks(group) {
                compact.add_v4_batch(batch);
            }
            let mut general = Table::default();
            let full: Vec<FlowRecord> = records.iter().map(V4Flow::record).collect();
            for batch in full.chunks(32) {
                general.add_batch(batch);
            }
            prop_assert_eq!(listed(compact), listed(general));
        }
    }

    fn record(dst: &str, port: u16, src: Option<&str>, bytes: u64, t: u64) -> FlowRecord {
        FlowRecord {
            dst: dst.parse().unwrap(),
            dst_port: port,
            src: src.map(|s| s.parse().unwrap()),
            bytes,
            start: Some(t),
            end: Some(t + 60),
        }
    }

    /// A port whose 32-bit counts would overflow moves them to the 64-bit map
    /// once, with that record, and counts inline again from zero: a busy port
    /// does not go to the map at every record after its first 4 GiB.
    #[test]
    fn a_full_port_spills_its_counts_once() {
        let mut t = Table::default();
        let big = record("192.0.2.1", 443, None, 2_000_000_000, 1_000);
        for _ in 0..4 {
            t.add_batch(&[big]);
        }
        // The third record would pass 32 bits: the first three go to the map, and
        // the fourth counts inline.
        let slot = t.slots[0];
        assert_eq!((slot.flows[0], slot.bytes[0]), (1, 2_000_000_000));
        assert_eq!(
            t.more.values().copied().collect::<Vec<_>>(),
            vec![PortCount {
                flows: 3,
                bytes: 6_000_000_000
            }]
        );
        let d = listed(t);
        assert_eq!((d[0].1.flows, d[0].1.bytes), (4, 8_000_000_000));
    }

    /// Split across two tables in any way, each made a list of destinations and
    /// the lists merged, records give the same destinations as in one table: ports
    /// beyond the inline ones, IPv6, times and lowest sources included.
    #[test]
    fn merged_tables_equal_one_table() {
        let mut records = Vec::new();
        for i in 0..400u64 {
            let dst = format!("198.51.100.{}", i % 7);
            let src = format!("10.0.0.{}", (i * 37) % 250);
            records.push(record(&dst, (i % 9) as u16 * 100, Some(&src), i, 1_000 + i));
            records.push(record("2001:db8::1", 443, Some(&src), 5, 2_000 - i));
            records.push(record("192.0.2.9", 443, Some("2001:db8::7"), 1, 3_000));
            records.push(record("192.0.2.10", 80, None, 2, 4_000 + i));
            // Bytes past 32 bits on one port, and times past 32 bits.
            records.push(record(
                "192.0.2.11",
                443,
                Some(&src),
                3_000_000_000,
                5_000 + i,
            ));
            records.push(record("192.0.2.12", 443, None, 1, 5_000_000_000 + i));
            // One record of more bytes than 32 bits hold.
            records.push(record("192.0.2.13", 80, None, 5_000_000_000 + i, 6_000));
        }
        // Every destination's counts, ports and times, straight from the records.
        let mut want: BTreeMap<IpAddr, (u64, u64, u64, u64, Vec<u16>)> = BTreeMap::new();
        for r in &records {
            let e = want.entry(r.dst).or_insert((0, 0, u64::MAX, 0, Vec::new()));
            e.0 += 1;
            e.1 += r.bytes;
            e.2 = e.2.min(r.start.unwrap());
            e.3 = e.3.max(r.end.unwrap());
            if !e.4.contains(&r.dst_port) {
                e.4.push(r.dst_port);
            }
        }
        let mut one = Table::default();
        for batch in records.chunks(32) {
            one.add_batch(batch);
        }
        let one = listed(one);
        assert_eq!(one.len(), 13);
        for (ip, d) in &one {
            let (flows, bytes, first, last, ports) = &want[ip];
            let mut ports = ports.clone();
            ports.sort_unstable();
            assert_eq!(
                (d.flows, d.bytes, d.first_seen, d.last_seen),
                (*flows, *bytes, Some(*first), Some(*last)),
                "{ip}"
            );
            assert_eq!(
                d.ports.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
                ports,
                "{ip}"
            );
            assert_eq!(
                d.bytes,
                d.ports.iter().map(|(_, c)| c.bytes).sum::<u64>(),
                "{ip}"
            );
            for (port, c) in &d.ports {
                let of_port = records
                    .iter()
                    .filter(|r| r.dst == *ip && r.dst_port == *port);
                let want = of_port.fold((0, 0), |(f, b), r| (f + 1, b + r.bytes));
                assert_eq!((c.flows, c.bytes), want, "{ip} port {port}");
            }
        }
        assert!(one.windows(2).all(|w| w[0].0 < w[1].0), "in address order");
        let get = |ip: &str| {
            let ip: IpAddr = ip.parse().unwrap();
            &one.iter().find(|(a, _)| *a == ip).unwrap().1
        };
        let d = get("198.51.100.3");
        assert_eq!(d.ports.len(), 9, "{:?}", d.ports);
        assert_eq!(d.flows, d.ports.iter().map(|(_, c)| c.flows).sum::<u64>());
        // The lowest IPv4 source of each address, whatever the order.
        for ip in ["198.51.100.3", "192.0.2.11"] {
            let lowest = records
                .iter()
                .filter(|r| r.dst == ip.parse::<IpAddr>().unwrap())
                .filter_map(|r| r.src)
                .min();
            assert!(lowest.is_some());
            assert_eq!(get(ip).sample_source, lowest, "{ip}");
        }
        assert_eq!(get("192.0.2.10").sample_source, None);
        assert_eq!(
            get("192.0.2.9").sample_source,
            Some("2001:db8::7".parse().unwrap())
        );
        for cut in [0, 1, 17, 800, records.len()] {
            for stride in [1, 3] {
                let (mut a, mut b) = (Table::default(), Table::default());
                for (i, r) in records.iter().enumerate() {
                    let t = if i < cut && i % stride == 0 {
                        &mut a
                    } else {
                        &mut b
                    };
                    t.add_batch(std::slice::from_ref(r));
                }
                // Both tables read together, whole or in ranges split anywhere,
                // and one of them as a list of destinations read with the other.
                let (a, b) = (a.seal(), b.seal());
                let tables = [a.clone(), b.clone()];
                assert_eq!(
                    destinations(&tables, &[], Span::default()),
                    one,
                    "cut {cut} stride {stride}"
                );
                let b_listed = destinations(std::slice::from_ref(&b), &[], Span::default());
                assert_eq!(
                    destinations(std::slice::from_ref(&a), &[&b_listed], Span::default()),
                    one,
                    "cut {cut} stride {stride}, as a list"
                );
                for n in [2, 3, 7, 40] {
                    let mut bounds = vec![None];
                    bounds.extend(
                        one.iter()
                            .step_by(one.len() / n + 1)
                            .skip(1)
                            .map(|(ip, _)| Some(*ip)),
                    );
                    bounds.push(None);
                    let mut ranges = Vec::new();
                    let mut room = 0;
                    for w in bounds.windows(2) {
                        let span = Span {
                            from: w[0],
                            to: w[1],
                        };
                        ranges.extend(destinations(&tables, &[&b_listed], span));
                        room += super::room(&tables, &[&b_listed], span);
                    }
                    assert_eq!(
                        ranges.len(),
                        one.len(),
                        "cut {cut} stride {stride}, {n} ranges"
                    );
                    assert!(room >= one.len());
                }
            }
        }
    }

    /// The bounds `split` picks are in order, within the destinations, and fewer
    /// when there are few destinations.
    #[test]
    fn ranges_split_at_ordered_bounds() {
        let mut t = Table::default();
        for i in 0..5_000u32 {
            let dst = std::net::Ipv4Addr::from(0xC000_0200 + i * 7).to_string();
            t.add_batch(&[record(&dst, 443, None, 1, 1_000)]);
        }
        let sealed = [t.seal()];
        for n in [1, 2, 3, 4, 8] {
            let bounds = split(&sealed, &[], n);
            assert_eq!(bounds.len(), n.clamp(1, 5_000 / MIN_RANGE) - 1, "{n}");
            assert!(bounds.windows(2).all(|w| w[0] < w[1]));
            for b in &bounds {
                let part = destinations(
                    &sealed,
                    &[],
                    Span {
                        from: None,
                        to: Some(*b),
                    },
                );
                assert!(part.len() >= MIN_RANGE, "{n}: {}", part.len());
            }
        }
        assert!(split(&sealed[..0], &[], 4).is_empty());
        // IPv6 destinations (in the map) are split as well, and the ranges add up
        // to the whole.
        let mut t = Table::default();
        for i in 0..5_000u32 {
            let dst = std::net::Ipv6Addr::from(0x2a00_0000_u128 << 96 | u128::from(i) << 80 | 1);
            t.add_batch(&[record(&dst.to_string(), 443, None, 1, 1_000)]);
        }
        let sealed = [t.seal()];
        let bounds = split(&sealed, &[], 4);
        assert_eq!(bounds.len(), 3, "{bounds:?}");
        assert!(bounds.iter().all(IpAddr::is_ipv6));
        let mut spans = vec![None];
        spans.extend(bounds.iter().copied().map(Some));
        spans.push(None);
        let parts: Vec<_> = spans
            .windows(2)
            .flat_map(|w| {
                destinations(
                    &sealed,
                    &[],
                    Span {
                        from: w[0],
                        to: w[1],
                    },
                )
            })
            .collect();
        assert_eq!(parts, destinations(&sealed, &[], Span::default()));
        assert_eq!(parts.len(), 5_000);
    }
}
