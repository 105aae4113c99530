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

use super::{Units, array_index, cmp_bodies, number, scan_string, skip_value, skip_ws};
use crate::audit::error::{MetadataError, WriteError};
use crate::audit::sink::{Sink, put_u_escape, put_utf8};

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

fn malformed(i: usize) -> WriteError {
    WriteError::Metadata(MetadataError::Syntax { offset: i })
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
        self.value(i, 0, true, out).map(|_| ())
    }

    fn value<S: Sink + ?Sized>(
        &mut self,
        i: usize,
        top: usize,
        outermost: bool,
        out: &mut S,
    ) -> Result<usize, WriteError> {
        let b = self.text;
        match b.get(i) {
            Some(b'{') => self.object(i, top, outermost, out),
            Some(b'[') => {
                out.put(b"[")?;
                let mut j = skip_ws(b, i + 1);
                if b.get(j) == Some(&b']') {
                    out.put(b"]")?;
                    return Ok(j + 1);
                }
                loop {
                    j = skip_ws(b, self.value(j, top, false, out)?);
                    match b.get(j) {
                        Some(b',') => {
                            out.put(b",")?;
                            j = skip_ws(b, j + 1);
                        }
                        Some(b']') => {
                            out.put(b"]")?;
                            return Ok(j + 1);
                        }
                        _ => return Err(malformed(j)),
                    }
                }
            }
            Some(b'"') => {
                let (end, esc) = scan_string(b, i).map_err(|e| malformed(e.0))?;
                let body = b.get(i + 1..end - 1).unwrap_or_default();
                match self.style {
                    Style::Js => write_js_body(body, esc, out)?,
                    Style::Py => write_py_body(body, out)?,
                }
                Ok(end)
            }
            Some(b'-' | b'0'..=b'9') => {
                let end = super::scan_number(b, i).map_err(|e| malformed(e.0))?;
                let text = b.get(i..end).unwrap_or_default();
                match self.style {
                    Style::Js => number::write_js(text, i, out)?,
                    Style::Py => number::write_py(text, i, out)?,
                }
                Ok(end)
            }
            _ => {
                let end = skip_value(b, i).map_err(|e| malformed(e.0))?;
                out.put(b.get(i..end).unwrap_or_default())?;
                Ok(end)
            }
        }
    }

    fn key_body(&self, m: &Member) -> &'t [u8] {
        self.text
            .get(m.key_start as usize..m.key_end as usize)
            .unwrap_or_default()
    }

    fn cmp_keys(text: &[u8], a: &Member, b: &Member) -> Ordering {
        let ka = text
            .get(a.key_start as usize..a.key_end as usize)
            .unwrap_or_default();
        let kb = text
            .get(b.key_start as usize..b.key_end as usize)
            .unwrap_or_default();
        cmp_bodies(ka, a.key_escaped, kb, b.key_escaped)
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
        let mut j = skip_ws(b, i + 1);
        let end;
        if b.get(j) == Some(&b'}') {
            end = j + 1;
        } else {
            loop {
                let (kend, esc) = scan_string(b, j).map_err(|e| malformed(e.0))?;
                let key = b.get(j + 1..kend - 1).unwrap_or_default();
                let k = skip_ws(b, kend);
                if b.get(k) != Some(&b':') {
                    return Err(malformed(k));
                }
                let vs = skip_ws(b, k + 1);
                let ve = skip_value(b, vs).map_err(|e| malformed(e.0))?;
                let excluded =
                    outermost && self.exclude_top.iter().any(|x| super::body_is(key, esc, x));
                if !excluded {
                    let slot = self
                        .pool
                        .get_mut(top + n)
                        .ok_or(WriteError::Metadata(MetadataError::TooComplex))?;
                    *slot = Member {
                        key_start: off(j + 1)?,
                        key_end: off(kend - 1)?,
                        value_start: off(vs)?,
                        value_end: off(ve)?,
                        index: match self.style {
                            Style::Js => array_index(key).unwrap_or(NOT_INDEX),
                            Style::Py => NOT_INDEX,
                        },
                        ord: off(n)?,
                        key_escaped: esc,
                    };
                    n += 1;
                }
                j = skip_ws(b, ve);
                match b.get(j) {
                    Some(b',') => j = skip_ws(b, j + 1),
                    Some(b'}') => {
                        end = j + 1;
                        break;
                    }
                    _ => return Err(malformed(j)),
                }
            }
        }
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
            let key = self.key_body(&m);
            match self.style {
                Style::Js => write_js_body(key, m.key_escaped, out)?,
                Style::Py => write_py_body(key, out)?,
            }
            out.put(b":")?;
            self.value(m.value_start as usize, top + n, false, out)?;
        }
        out.put(b"}")?;
        Ok(end)
    }
}

/// Writes a validated string body (without quotes) as `JSON.stringify` writes the
/// string it decodes to, quotes included.
pub(crate) fn write_js_body<S: Sink + ?Sized>(
    body: &[u8],
    escaped: bool,
    out: &mut S,
) -> Result<(), WriteError> {
    out.put(b"\"")?;
    if !escaped {
        // Raw characters of a JSON string body never need escaping in JavaScript.
        out.put(body)?;
        return out.put(b"\"");
    }
    let mut i = 0;
    while i < body.len() {
        let run = body
            .get(i..)
            .unwrap_or_default()
            .iter()
            .position(|&c| c == b'\\');
        let stop = run.map_or(body.len(), |p| i + p);
        out.put(body.get(i..stop).unwrap_or_default())?;
        if stop >= body.len() {
            break;
        }
        let mut u = Units::new(body);
        u.seek(stop);
        let cp = u.next().unwrap_or(0xfffd);
        i = u.pos();
        write_js_unit(cp, out)?;
    }
    out.put(b"\"")
}

/// Writes a decoded string as `JSON.stringify` does, quotes included.
pub(crate) fn write_js_str<S: Sink + ?Sized>(s: &str, out: &mut S) -> Result<(), WriteError> {
    out.put(b"\"")?;
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' || c == b'\\' || c < 0x20 {
            out.put(b.get(start..i).unwrap_or_default())?;
            write_js_unit(u32::from(c), out)?;
            start = i + 1;
        }
    }
    out.put(b.get(start..).unwrap_or_default())?;
    out.put(b"\"")
}

fn write_js_unit<S: Sink + ?Sized>(cp: u32, out: &mut S) -> Result<(), WriteError> {
    match cp {
        0x22 => out.put(b"\\\""),
        0x5c => out.put(b"\\\\"),
        0x08 => out.put(b"\\b"),
        0x0c => out.put(b"\\f"),
        0x0a => out.put(b"\\n"),
        0x0d => out.put(b"\\r"),
        0x09 => out.put(b"\\t"),
        0..0x20 | 0xD800..=0xDFFF => put_u_escape(out, cp),
        _ => put_utf8(out, cp),
    }
}

/// Writes a validated string body as Python's `json.dumps` (`ensure_ascii=True`)
/// writes the string it decodes to, quotes included.
pub(crate) fn write_py_body<S: Sink + ?Sized>(body: &[u8], out: &mut S) -> Result<(), WriteError> {
    out.put(b"\"")?;
    let mut i = 0;
    while i < body.len() {
        let plain = body
            .get(i..)
            .unwrap_or_default()
            .iter()
            .position(|&c| !(0x20..0x7f).contains(&c) || c == b'\\' || c == b'"');
        let stop = plain.map_or(body.len(), |p| i + p);
        out.put(body.get(i..stop).unwrap_or_default())?;
        if stop >= body.len() {
            break;
        }
        let mut u = Units::new(body);
        u.seek(stop);
        let cp = u.next().unwrap_or(0xfffd);
        i = u.pos();
        match cp {
            0x22 => out.put(b"\\\"")?,
            0x5c => out.put(b"\\\\")?,
            0x08 => out.put(b"\\b")?,
            0x0c => out.put(b"\\f")?,
            0x0a => out.put(b"\\n")?,
            0x0d => out.put(b"\\r")?,
            0x09 => out.put(b"\\t")?,
            0x20..0x7f => put_utf8(out, cp)?,
            0x10000.. => {
                let v = cp - 0x10000;
                put_u_escape(out, 0xD800 | (v >> 10))?;
                put_u_escape(out, 0xDC00 | (v & 0x3ff))?;
            }
            _ => put_u_escape(out, cp)?,
        }
    }
    out.put(b"\"")
}

/// Writes the UTF-8 of the string a validated body decodes to, with lone surrogates
/// as U+FFFD (what Node's `hash.update(string)` hashes).
pub(crate) fn write_utf8_body<S: Sink + ?Sized>(
    body: &[u8],
    escaped: bool,
    out: &mut S,
) -> Result<(), WriteError> {
    if !escaped {
        return out.put(body);
    }
    let mut i = 0;
    while i < body.len() {
        let run = body
            .get(i..)
            .unwrap_or_default()
            .iter()
            .position(|&c| c == b'\\');
        let stop = run.map_or(body.len(), |p| i + p);
        out.put(body.get(i..stop).unwrap_or_default())?;
        if stop >= body.len() {
            break;
        }
        let mut u = Units::new(body);
        u.seek(stop);
        let cp = u.next().unwrap_or(0xfffd);
        i = u.pos();
        put_utf8(out, cp)?;
    }
    Ok(())
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
