//! Canonical re-serialisation of validated JSON: JavaScript's
//! `JSON.stringify(JSON.parse(text))`, or Python's sorted-key `json.dumps`.
//!
//! Working memory is a caller-provided pool of [`Member`] slots used as a stack: an
//! object's members are collected into the pool, ordered and de-duplicated there,
//! then emitted, with nested objects using the slots above. The slots needed are known
//! after validation (`Shape::slots`); a pool that is too small gives
//! [`MetadataError::TooComplex`]. Recursion depth is bounded by [`super::MAX_DEPTH`]
//! because only validated text is canonicalised.

use core::cmp::Ordering;

use super::string::{write_js_body, write_py_body};
use super::{array_index, number};
use crate::audit::error::{MetadataError, WriteError};
use crate::audit::sink::Sink;
use crate::json::{
    Dialect, FromSyntax, Token, body_eq, cmp_bodies, skip_value, skip_ws, walk_array, walk_object,
};

/// Which serialiser to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// `JSON.stringify(JSON.parse(text))` in JavaScript.
    Js,
    /// Python's `json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))`
    /// with the default `ensure_ascii=True`.
    Py,
}

/// One object member, as offsets into the text (a slot of working memory: 24 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Member {
    key_start: u32,
    key_end: u32,
    value_start: u32,
    value_end: u32,
    /// Array index the key names, or `u32::MAX` for any other key.
    index: u32,
    /// Position among the object's members; `u32::MAX` marks a dropped duplicate.
    ord: u32,
    key_escaped: bool,
}

const NOT_INDEX: u32 = u32::MAX;

impl Member {
    /// The key's body in `text`.
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        text.get(self.key_start as usize..self.key_end as usize)
            .unwrap_or_default()
    }
}

/// Sorts `v` in place by `less`: heapsort, O(n log n) comparisons without recursion or
/// extra memory, and a fraction of the code of core's `sort_unstable` (about 2 KiB of
/// flash and 1.4 KiB of stack less on a microcontroller). Both orders used here
/// are total (ties broken by `ord`, unique per member), so stability does not matter.
fn heapsort(v: &mut [Member], mut less: impl FnMut(&Member, &Member) -> bool) {
    // Moves `v[root]` down the max-heap `v[..end]` until both children are not greater.
    let mut sift = |v: &mut [Member], mut root: usize, end: usize| {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                break;
            }
            if let (Some(l), Some(r)) = (v.get(child), v.get(child + 1))
                && child + 1 < end
                && less(l, r)
            {
                child += 1;
            }
            match (v.get(root), v.get(child)) {
                (Some(p), Some(c)) if less(p, c) => v.swap(root, child),
                _ => break,
            }
            root = child;
        }
    };
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// Re-serialises one validated JSON value.
pub(crate) struct Canonicalizer<'t, 'p> {
    text: &'t [u8],
    style: Style,
    pool: &'p mut [Member],
    exclude_top: &'static [&'static str],
}

fn off(i: usize) -> Result<u32, WriteError> {
    u32::try_from(i).map_err(|_| WriteError::Metadata(MetadataError::TooComplex))
}

impl<'t, 'p> Canonicalizer<'t, 'p> {
    pub(crate) fn new(text: &'t [u8], style: Style, pool: &'p mut [Member]) -> Self {
        Self {
            text,
            style,
            pool,
            exclude_top: &[],
        }
    }

    /// Leaves out these keys of the outermost object (the legacy hash omits its own
    /// `hash` and `signature`).
    pub(crate) fn excluding_top_level(mut self, keys: &'static [&'static str]) -> Self {
        self.exclude_top = keys;
        self
    }

    /// Writes the canonical form of the single value in the text.
    pub(crate) fn write<S: Sink + ?Sized>(&mut self, out: &mut S) -> Result<(), WriteError> {
        let i = skip_ws(self.text, 0);
        if self.text.get(i) == Some(&b'{') {
            self.object(i, 0, true, out)?;
        } else {
            self.value(i, 0, out)?;
        }
        Ok(())
    }

    /// Writes the value at `i`, nested objects using the pool from slot `top`; returns
    /// the offset after it.
    fn value<S: Sink + ?Sized>(
        &mut self,
        i: usize,
        top: usize,
        out: &mut S,
    ) -> Result<usize, WriteError> {
        let b = self.text;
        match crate::json::token(b, i, Dialect::JS).map_err(WriteError::from_syntax)? {
            Token::Object => self.object(i, top, false, out),
            Token::Array => {
                out.put(b"[")?;
                let mut first = true;
                let end = walk_array(b, i, |at| {
                    if !first {
                        out.put(b",")?;
                    }
                    first = false;
                    self.value(at, top, out)
                })?;
                out.put(b"]")?;
                Ok(end)
            }
            Token::Str(s) => {
                let body = s.body.of(b);
                match self.style {
                    Style::Js => write_js_body(body, s.escaped, out)?,
                    Style::Py => write_py_body(body, out)?,
                }
                Ok(s.end())
            }
            Token::Num(span) => {
                match self.style {
                    Style::Js => number::write_js(span.of(b), i, out)?,
                    Style::Py => number::write_py(span.of(b), i, out)?,
                }
                Ok(span.end)
            }
            Token::Lit(_, span) => {
                out.put(span.of(b))?;
                Ok(span.end)
            }
        }
    }

    fn cmp_keys(text: &[u8], a: &Member, b: &Member) -> Ordering {
        cmp_bodies(a.key(text), a.key_escaped, b.key(text), b.key_escaped)
    }

    fn object<S: Sink + ?Sized>(
        &mut self,
        i: usize,
        top: usize,
        outermost: bool,
        out: &mut S,
    ) -> Result<usize, WriteError> {
        let b = self.text;
        // 1. Collect the members into the pool.
        let mut n = 0usize;
        let (pool, style, exclude) = (&mut *self.pool, self.style, self.exclude_top);
        let end = walk_object(b, i, Dialect::JS, |key, at| {
            let value_end = skip_value(b, at, Dialect::JS).map_err(WriteError::from_syntax)?;
            let body = key.body.of(b);
            if outermost && exclude.iter().any(|x| body_eq(body, key.escaped, x)) {
                return Ok(value_end);
            }
            let slot = pool
                .get_mut(top + n)
                .ok_or(WriteError::Metadata(MetadataError::TooComplex))?;
            *slot = Member {
                key_start: off(key.body.start)?,
                key_end: off(key.body.end)?,
                value_start: off(at)?,
                value_end: off(value_end)?,
                index: match style {
                    Style::Js => array_index(body).unwrap_or(NOT_INDEX),
                    Style::Py => NOT_INDEX,
                },
                ord: off(n)?,
                key_escaped: key.escaped,
            };
            n += 1;
            Ok(value_end)
        })?;
        // 2. Order and de-duplicate in place.
        let members = self.pool.get_mut(top..top + n).unwrap_or_default();
        // Group equal keys together (index keys first, ascending), earliest first.
        heapsort(members, |x, y| {
            x.index
                .cmp(&y.index)
                .then_with(|| {
                    if x.index == NOT_INDEX {
                        Self::cmp_keys(b, x, y)
                    } else {
                        Ordering::Equal
                    }
                })
                .then(x.ord.cmp(&y.ord))
                .is_lt()
        });
        // A duplicated key keeps its first position and takes its last value.
        let mut kept = 0usize;
        let mut k = 0usize;
        while k < n {
            let mut g = k + 1;
            while g < n {
                let (Some(first), Some(next)) = (members.get(k), members.get(g)) else {
                    break;
                };
                let same = first.index == next.index
                    && (first.index != NOT_INDEX || Self::cmp_keys(b, first, next).is_eq());
                if !same {
                    break;
                }
                g += 1;
            }
            if let (Some(&first), Some(&last)) = (members.get(k), members.get(g - 1))
                && let Some(slot) = members.get_mut(kept)
            {
                *slot = Member {
                    value_start: last.value_start,
                    value_end: last.value_end,
                    ..first
                };
            }
            kept += 1;
            k = g;
        }
        let members = members.get_mut(..kept).unwrap_or_default();
        if self.style == Style::Js {
            // Other keys go in first-appearance order after the index keys.
            let first_named = members.partition_point(|m| m.index != NOT_INDEX);
            if let Some(named) = members.get_mut(first_named..) {
                heapsort(named, |x, y| x.ord < y.ord);
            }
        }
        // 3. Emit; nested objects use the pool above this object's slots.
        out.put(b"{")?;
        for idx in 0..kept {
            let Some(m) = self.pool.get(top + idx).copied() else {
                break;
            };
            if idx > 0 {
                out.put(b",")?;
            }
            let key = m.key(self.text);
            match self.style {
                Style::Js => write_js_body(key, m.key_escaped, out)?,
                Style::Py => write_py_body(key, out)?,
            }
            out.put(b":")?;
            self.value(m.value_start as usize, top + n, out)?;
        }
        out.put(b"}")?;
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Heapsort gives the same order as core's sort for every length up to 40, with
    /// repeated keys (ties broken by `ord`, as the canonicaliser's orders are).
    #[test]
    fn heapsort_orders_like_the_standard_sort() {
        let mut seed = 0x9e37_79b9u32;
        for n in 0..40u32 {
            let mut v = [Member::default(); 40];
            for (ord, m) in v.iter_mut().enumerate() {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                m.index = seed % 7;
                m.ord = ord as u32;
            }
            let v = &mut v[..n as usize];
            let by_index = |x: &Member, y: &Member| (x.index, x.ord) < (y.index, y.ord);
            let mut expected = [0u32; 40];
            let mut sorted = v.to_vec();
            sorted.sort_by_key(|m| (m.index, m.ord));
            heapsort(v, by_index);
            for (e, m) in expected.iter_mut().zip(&*v) {
                *e = m.ord;
            }
            let got: crate::audit::alloc::vec::Vec<u32> = sorted.iter().map(|m| m.ord).collect();
            assert_eq!(&expected[..n as usize], &got[..], "n = {n}");
            heapsort(v, |x, y| x.ord < y.ord);
            assert!(v.windows(2).all(|w| w[0].ord < w[1].ord), "n = {n}");
        }
    }
}
