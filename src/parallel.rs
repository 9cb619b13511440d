//! Work over the 100,000s of users of a large account, split over the machine's cores. Every
//! result comes back in its input's order: the output of a command never depends on how many
//! threads made it.

/// The threads for `items` pieces of work: one per core (at most four) from `from` items on,
/// and one below that (a thread costs more than it saves on a small account).
pub(crate) fn threads_for(items: usize, from: usize) -> usize {
    if items < from {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// `f` of each item, in `threads` consecutive parts on as many threads (the calling thread
/// takes the first), in the items' order. A result may borrow from its item.
pub(crate) fn map<'a, T: Sync, U: Send>(
    items: &'a [T],
    threads: usize,
    f: impl Fn(&'a T) -> U + Sync,
) -> Vec<U> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let mut all = Vec::with_capacity(items.len());
    for part in map_parts(items, threads, |part| {
        part.iter().map(&f).collect::<Vec<U>>()
    }) {
        all.extend(part);
    }
    all
}

/// `f` of each of `threads` consecutive parts of `items` (fewer when there are fewer items),
/// each on a thread of its own (the calling thread takes the first), in the items' order. No
/// items make one empty part. A result may borrow from its part.
pub(crate) fn map_parts<'a, T: Sync, U: Send>(
    items: &'a [T],
    threads: usize,
    f: impl Fn(&'a [T]) -> U + Sync,
) -> Vec<U> {
    if threads <= 1 || items.len() < 2 {
        return vec![f(items)];
    }
    let part = items.len().div_ceil(threads);
    each(items.chunks(part).collect(), f)
}

/// `f` of each input, each on a thread of its own (the calling thread takes the first), in the
/// inputs' order: for work that owns what it is given (a run of users moved, not copied). A
/// panic in any of them is passed on. No inputs give no results.
pub(crate) fn each<I: Send, U: Send>(inputs: Vec<I>, f: impl Fn(I) -> U + Sync) -> Vec<U> {
    let f = &f;
    std::thread::scope(|s| {
        let mut inputs = inputs.into_iter();
        let Some(first) = inputs.next() else {
            return Vec::new();
        };
        let theirs: Vec<_> = inputs.map(|input| s.spawn(move || f(input))).collect();
        let mut all = Vec::with_capacity(theirs.len() + 1);
        all.push(f(first));
        for handle in theirs {
            match handle.join() {
                Ok(done) => all.push(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_results_are_in_the_items_order_whatever_the_threads() {
        let items: Vec<u32> = (0..1000).collect();
        let one: Vec<String> = items.iter().map(|n| format!("<{n}>")).collect();
        for threads in [0, 1, 2, 3, 4, 7, 999, 1000, 2000] {
            assert_eq!(map(&items, threads, |n| format!("<{n}>")), one, "{threads}");
        }
        assert!(map(&[] as &[u32], 4, |n| *n).is_empty());
        assert_eq!(map(&[5u32], 4, |n| n + 1), vec![6]);
        for threads in [0, 1, 2, 3, 7, 1000, 2000] {
            let parts = map_parts(&items, threads, <[u32]>::to_vec);
            assert_eq!(parts.concat(), items, "{threads}");
            assert!(parts.len() <= threads.max(1), "{threads}");
        }
        assert_eq!(map_parts(&[] as &[u32], 4, <[u32]>::len), vec![0]);
        let owned: Vec<Vec<u32>> = items.chunks(7).map(<[u32]>::to_vec).collect();
        assert_eq!(each(owned, |v| v).concat(), items);
        assert!(each(Vec::<u32>::new(), |n| n).is_empty());
    }

    #[test]
    #[should_panic(expected = "part 3")]
    fn a_panic_in_a_thread_is_passed_on() {
        each((0..5).collect(), |n: u32| assert!(n != 3, "part {n}"));
    }

    #[test]
    fn small_work_stays_on_one_thread() {
        assert_eq!(threads_for(10, 11), 1);
        assert!(threads_for(11, 11) >= 1);
        assert!(threads_for(usize::MAX, 0) <= 4);
    }
}
