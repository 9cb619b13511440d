//! The typo rail: deletions one edit from, or looking like, an entry that matches no live user
//! are held (see [`hold_near_misses`]).

use std::collections::{HashMap, HashSet};

use super::{Decision, EntryList, Likeness, Policy, Reason};
use crate::config::Location;
use crate::distance;
use crate::model::skeleton;

/// A 64-bit hash of `chars` with the character at `skip` left out (`None`: nothing left out).
/// Characters, not bytes: `é` to `e` is one edit, though it changes two bytes.
fn hash_without(chars: &[char], skip: Option<usize>) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, c) in chars.iter().enumerate() {
        if Some(i) != skip {
            h = (h ^ u64::from(u32::from(*c))).wrapping_mul(PRIME);
        }
    }
    h
}

/// An unmatched entry of the desired state that the typo rail compares deletions with: an
/// address (compared with the whole address) or a domain (compared with the address's domain).
pub(super) struct NearTarget<'a> {
    pub(super) normalized: &'a str,
    pub(super) written: &'a str,
    pub(super) location: &'a Location,
    pub(super) list: EntryList,
}

/// The targets of the typo rail, indexed so that finding the one near a text costs a few hash
/// lookups, not one comparison per target.
struct NearIndex<'t, 'a> {
    targets: &'t [NearTarget<'a>],
    /// Every one-character deletion of every target (as in SymSpell).
    edits: HashMap<u64, Vec<usize>>,
    lengths: HashSet<usize>,
    /// The UTS 39 skeleton of every target; the first target with a skeleton wins.
    skeletons: HashMap<String, usize>,
}

impl<'t, 'a> NearIndex<'t, 'a> {
    fn new(targets: &'t [NearTarget<'a>]) -> NearIndex<'t, 'a> {
        let mut edits: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut skeletons: HashMap<String, usize> = HashMap::new();
        for (i, target) in targets.iter().enumerate() {
            let chars: Vec<char> = target.normalized.chars().collect();
            for skip in std::iter::once(None).chain((0..chars.len()).map(Some)) {
                edits.entry(hash_without(&chars, skip)).or_default().push(i);
            }
            skeletons.entry(skeleton(target.normalized)).or_insert(i);
        }
        NearIndex {
            targets,
            edits,
            lengths: targets
                .iter()
                .map(|t| t.normalized.chars().count())
                .collect(),
            skeletons,
        }
    }

    /// The target one edit away from `text`, or else one that looks like it. (A target never
    /// equals `text`: a target matches no live user.)
    fn find(&self, text: &str) -> Option<(&'t NearTarget<'a>, Likeness)> {
        if self.targets.is_empty() {
            return None;
        }
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let one_edit = if (n.saturating_sub(1)..=n + 1).any(|l| self.lengths.contains(&l)) {
            std::iter::once(None)
                .chain((0..n).map(Some))
                .filter_map(|skip| self.edits.get(&hash_without(&chars, skip)))
                .flatten()
                .map(|&i| &self.targets[i])
                // The index finds candidates by hash; the distance rules out collisions more
                // than two edits away. Two letters changed (distance 2) are kept out only by the
                // index (no one-character deletion of each is the same), so the hash must not
                // collide more than chance: `two_edits_from_an_unmatched_entry_are_not_a_near_miss`.
                .find(|t| distance::levenshtein(t.normalized, text) <= 2)
        } else {
            None
        };
        one_edit.map(|t| (t, Likeness::OneEdit)).or_else(|| {
            self.skeletons
                .get(&skeleton(text))
                .map(|&i| (&self.targets[i], Likeness::LooksAlike))
        })
    }
}

/// The "typo" rail: an allowlist entry or a protected address that matches no live user, one
/// edit (a character added, missing, changed, or two swapped) away from a user about to be
/// deleted — or the two becoming the same when one character is taken out of each (one missing
/// and another added elsewhere: the index's reach, wider than one edit, on the side of holding)
/// — or with the same confusable skeleton, holds that user; so does a `domains:` entry that
/// matches no live user and is that near to the user's domain. The targets are indexed (see
/// [`NearIndex`]), so the cost grows with the number of users, not users × entries.
pub(super) fn hold_near_misses(
    delete: &mut Vec<Decision>,
    held: &mut Vec<Decision>,
    [addresses, domains]: [&[NearTarget<'_>]; 2],
    policy: &Policy,
) {
    // Only a shortcut: with no target or no deletion the loop below changes nothing (so the
    // mutant that turns `||` into `&&` here is equivalent).
    if (addresses.is_empty() && domains.is_empty()) || delete.is_empty() {
        return;
    }
    let (addresses, domains) = (NearIndex::new(addresses), NearIndex::new(domains));
    let mut kept = Vec::with_capacity(delete.len());
    for d in delete.drain(..) {
        let Some(address) = d.email.clone() else {
            kept.push(d);
            continue;
        };
        let released = policy.overrides.allow_near_miss.contains(&address);
        let near = addresses
            .find(address.as_str())
            .or_else(|| domains.find(address.domain()));
        match near.filter(|_| !released) {
            Some((target, likeness)) => held.push(Decision {
                reason: Reason::NearMiss {
                    entry: target.written.to_string(),
                    location: target.location.clone(),
                    address: address.to_string(),
                    list: target.list,
                    likeness,
                },
                ..d
            }),
            None => kept.push(d),
        }
    }
    *delete = kept;
}
