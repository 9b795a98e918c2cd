//! The byte-level fast path of the flow-log readers: a block is classified 64 bytes
//! at a time (16-byte vector compares, through `wide`, on SSE2 or NEON), which finds
//! its lines and their single-space-separated fields in one pass, and the common
//! fields (dotted-quad IPv4 addresses, plain numbers) are read without a branch per
//! byte. Anything these functions do not take (`None`) goes to the full parsers,
//! which decide and explain, so both paths give the same answer.

use std::net::Ipv4Addr;
use wide::{i8x16, u8x16};

/// The most fields the scanner records for one line; a line with more goes to the
/// full parser.
pub const MAX_FIELDS: usize = 32;

/// One line of a block, as found by [`lines`].
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The block from the line's first byte to the block's end: fixed-width reads
    /// may run past the line without a copy.
    pub room: &'a [u8],
    /// The line's length (without its newline).
    pub len: usize,
    /// The bounds of the fields, when the line is plain: no empty field (so no
    /// leading, trailing or double space, and not blank), no control byte other than
    /// its newline, no byte outside ASCII, and at most [`MAX_FIELDS`] fields. Field
    /// `i` is `bounds[i] + 1 .. bounds[i + 1]` (offsets in the line): the first
    /// bound is `u32::MAX` (so `+ 1` wraps to 0), then each space, then the length.
    /// `None` otherwise.
    pub bounds: Option<&'a [u32]>,
}

impl<'a> Line<'a> {
    /// The line's bytes.
    #[inline]
    pub fn text(&self) -> &'a [u8] {
        self.room.get(..self.len).unwrap_or_default()
    }
}

/// Three masks for 64 bytes, one bit per byte: spaces, newlines, and the bytes the
/// fast path does not take (control bytes other than newline, and non-ASCII).
/// Those are rare: whether the chunk has any is one test on the OR of its vectors,
/// and only a chunk that has some gets their mask.
#[inline]
fn classify(chunk: &[u8; 64]) -> (u64, u64, u64) {
    let (mut spaces, mut newlines) = (0u64, 0u64);
    let mut odd = i8x16::splat(0);
    let mut parts = [i8x16::splat(0); 4];
    for ((k, part), v) in chunk.chunks_exact(16).enumerate().zip(&mut parts) {
        let mut bytes = [0i8; 16];
        for (b, &c) in bytes.iter_mut().zip(part) {
            *b = c as i8;
        }
        let x = i8x16::new(bytes);
        *v = x;
        let nl = x.simd_eq(i8x16::splat(b'\n' as i8));
        spaces |= u64::from(x.simd_eq(i8x16::splat(b' ' as i8)).to_bitmask()) << (16 * k);
        newlines |= u64::from(nl.to_bitmask()) << (16 * k);
        // Control bytes (below 0x20) and bytes outside ASCII (0x80 and above, which
        // are negative as signed bytes) in one signed compare, newlines aside.
        odd |= x.simd_lt(i8x16::splat(0x20)) & !nl;
    }
    let mut special = 0u64;
    if odd.to_bitmask() != 0 {
        for (k, x) in parts.iter().enumerate() {
            let nl = x.simd_eq(i8x16::splat(b'\n' as i8));
            let low = x.simd_lt(i8x16::splat(0x20)) & !nl;
            special |= u64::from(low.to_bitmask()) << (16 * k);
        }
    }
    (spaces, newlines, special)
}

/// Room for a line's bounds, above `MAX_FIELDS + 1` (a power of two): the offsets
/// of a line with more fields wrap around (it is not plain, whatever was written).
const BOUNDS: usize = 64;

/// Calls `f` with each line of `block` in order (a last line without its newline
/// included) and returns how many there were; stops at the first error `f` returns.
///
/// Per 64 bytes, three masks: spaces, newlines, and bytes that make a line not
/// plain — control and non-ASCII bytes, and separators that follow a separator
/// (or the block's start), which is where a field is empty. The spaces before
/// each newline are then a loop over set bits that only records each offset, with
/// no test for a line's end inside it.
pub fn lines<E>(block: &[u8], mut f: impl FnMut(Line<'_>) -> Result<(), E>) -> Result<u64, E> {
    // The bounds of the current line's fields so far (see [`Line::bounds`]).
    let mut bounds = [u32::MAX; BOUNDS];
    let mut n = 0usize;
    let mut start = 0usize;
    // No special byte in the current line so far.
    let mut plain = true;
    // Whether the byte before the chunk is a separator (the block's start counts
    // as one: a leading space or a blank first line makes an empty field).
    let mut after_separator = 1u64;
    let mut count = 0u64;
    let mut base = 0usize;
    let mut padded = [b'A'; 64];
    // A last line without its newline ends at the block's end, as if one were there.
    let open_end = block.last().is_some_and(|&b| b != b'\n');
    while base < block.len() || (open_end && base == block.len()) {
        let chunk: &[u8; 64] = match block.get(base..base + 64) {
            Some(c) => c.try_into().unwrap_or(&padded),
            None => {
                // The tail (under 64 bytes), then that newline, padded with a byte
                // that is no separator and not special.
                let tail = block.get(base..).unwrap_or_default();
                padded = [b'A'; 64];
                if let Some(p) = padded.get_mut(..tail.len()) {
                    p.copy_from_slice(tail);
                }
                if let (true, Some(end)) = (open_end, padded.get_mut(tail.len())) {
                    *end = b'\n';
                }
                &padded
            }
        };
        let (sp, nl, special) = classify(chunk);
        let separators = sp | nl;
        let mut special = special | (separators & (separators << 1 | after_separator));
        after_separator = separators >> 63;
        // The spaces before each newline, then the newline (which ends a line),
        // then the spaces after the chunk's last newline. Offsets in the line are
        // the chunk's offset in it plus the bit's; a line too long for them (4
        // GiB) is not plain. Past `BOUNDS` entries they wrap around the array: such
        // a line has too many fields to be plain, and the first entry is set again
        // for the next line.
        let mut rel = u32::try_from(base - start).unwrap_or(u32::MAX);
        let mut spaces = sp;
        let mut newlines = nl;
        loop {
            let next_newline = newlines & newlines.wrapping_neg();
            let before = match next_newline {
                0 => spaces,
                b => spaces & (b - 1),
            };
            spaces &= !before;
            let mut each = before;
            while each != 0 {
                let offset = rel.wrapping_add(each.trailing_zeros());
                each &= each - 1;
                n += 1;
                if let Some(b) = bounds.get_mut(n % BOUNDS) {
                    *b = offset;
                }
            }
            if next_newline == 0 {
                break;
            }
            newlines &= newlines - 1;
            let bit = next_newline.trailing_zeros();
            let pos = base + bit as usize;
            let len = pos - start;
            if let Some(b) = bounds.get_mut((n + 1) % BOUNDS) {
                *b = rel.wrapping_add(bit);
            }
            // This line's bytes, its newline included.
            let upto = (2u64 << bit).wrapping_sub(1);
            let clean = plain && special & upto == 0 && n < MAX_FIELDS && len < u32::MAX as usize;
            special &= !upto;
            let line = Line {
                room: block.get(start..).unwrap_or_default(),
                len,
                bounds: clean.then_some(bounds.get(..n + 2).unwrap_or_default()),
            };
            f(line)?;
            count += 1;
            plain = true;
            n = 0;
            if let Some(b) = bounds.first_mut() {
                *b = u32::MAX;
            }
            start = pos + 1;
            // The chunk's offset in the next line: it starts after this newline.
            rel = 0u32.wrapping_sub(bit + 1);
        }
        plain &= special == 0;
        base += 64;
    }
    Ok(count)
}

/// Field `i` of a plain line (from [`Line::bounds`]): its offset in the line and
/// its length. `None` when the line has fewer fields.
#[inline(always)]
pub fn span(bounds: &[u32], i: usize) -> Option<(usize, usize)> {
    let start = bounds.get(i)?.wrapping_add(1) as usize;
    let end = *bounds.get(i + 1)? as usize;
    Some((start, end.wrapping_sub(start)))
}

/// Sixteen bytes from the start of `room`, which holds a field of `len` bytes
/// first: the block's own where it has them, else the field copied into `pad`
/// (zero after it).
#[inline(always)]
fn window<'a>(room: &'a [u8], len: usize, pad: &'a mut [u8; 16]) -> Option<&'a [u8]> {
    match room.get(..16) {
        Some(window) => Some(window),
        None => {
            pad.get_mut(..len)?.copy_from_slice(room.get(..len)?);
            Some(pad)
        }
    }
}

/// A plain dotted-quad IPv4 address at the start of `room`, `len` bytes long, or
/// `None` for anything else (IPv6, leading zeros, stray bytes): such fields go to
/// the full parser. Sixteen bytes are read at once when `room` has them. Vector
/// compares give bit masks of the dots, the digits and a few digit values, and
/// the whole shape is checked on those masks: three dots, one to three digits per
/// octet, no leading zero, nothing above 255. Each octet's value is then read with
/// one multiplication, with no branch per byte.
#[inline(always)]
pub fn fast_ipv4(room: &[u8], len: usize) -> Option<Ipv4Addr> {
    if !(7..=15).contains(&len) {
        return None;
    }
    let mut pad = [0u8; 16];
    read_ipv4(window(room, len, &mut pad)?, len)
}

/// [`fast_ipv4`] on the sixteen bytes from the field's start ([`window`]), the
/// field `len` (7 to 15) bytes long.
#[inline(always)]
fn read_ipv4(window: &[u8], len: usize) -> Option<Ipv4Addr> {
    let x = u8x16::new(window.get(..16)?.try_into().ok()?);
    let live = (1u32 << len) - 1;
    let mask = |v: u8x16| v.to_bitmask() & live;
    let d = x - u8x16::splat(b'0');
    let digits = mask(d.min(u8x16::splat(9)).simd_eq(d));
    let dots = mask(x.simd_eq(u8x16::splat(b'.')));
    // The three dots.
    let d1 = dots.trailing_zeros();
    let rest = dots & dots.wrapping_sub(1);
    let d2 = rest.trailing_zeros();
    let rest = rest & rest.wrapping_sub(1);
    let d3 = rest.trailing_zeros();
    let rest = rest & rest.wrapping_sub(1);
    // The first byte of each octet, and those of three-digit octets.
    let starts = (dots << 1 | 1) & live;
    let three = starts & digits >> 1 & digits >> 2;
    // Digits at or above 3, at or above 6, and the digits 0, 2 and 5.
    let at_least = |n: u8| mask(d.max(u8x16::splat(n)).simd_eq(d)) & digits;
    let (above2, above5) = (at_least(3), at_least(6));
    let is = |c: u8| mask(x.simd_eq(u8x16::splat(c)));
    let bad = digits | dots != live
        || rest != 0
        || d3 >= 16
        // An empty octet: a dot first, last, or after a dot.
        || (starts | 1 << (len - 1)) & dots != 0
        // Four digits in a row.
        || digits & digits >> 1 & digits >> 2 & digits >> 3 != 0
        // A leading zero.
        || is(b'0') & starts & digits >> 1 != 0
        // Above 255: 3-9 first, or 2 then 6-9, or 2 then 5 then 6-9.
        || three & (above2 | is(b'2') & (above5 >> 1 | is(b'5') >> 1 & above5 >> 2)) != 0;
    if bad {
        return None;
    }
    // An octet's digits as a word whose third byte is its last digit, the bytes
    // before its first cleared: hundreds, tens and ones then meet in the third
    // byte of one multiplication, 100 a + 10 b + c. Each word is read from the
    // bytes (`^ 0x30` takes a digit's value); `last >= 2` for every octet but the
    // first, which is read from the start and shifted up.
    let word = |at: u32| -> u32 {
        let at = (at & 15) as usize;
        window
            .get(at..at + 4)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u32::from_le_bytes)
            ^ 0x0030_3030
    };
    let octet = |last: u32, l: u32| word(last - 2) & (0x00FF_FFFF & u32::MAX << (8 * (3 - l)));
    let value = |w: u32| w.wrapping_mul(0x0064_0A01) >> 16 & 0xFF;
    let first = word(0) << (8 * (3 - d1)) & 0x00FF_FFFF;
    let len = len as u32;
    Some(Ipv4Addr::from(
        value(first) << 24
            | value(octet(d2 - 1, d2 - d1 - 1)) << 16
            | value(octet(d3 - 1, d3 - d2 - 1)) << 8
            | value(octet(len - 1, len - d3 - 1)),
    ))
}

/// Dotted-quad addresses read lately, by their text, in `1 << BITS` places. A
/// log's addresses repeat (a VPC's own hosts send most of its traffic, to the
/// services it uses), and a repeated one is found with one compare instead of
/// read again. Direct-mapped: each text has one place, and a text that lands on
/// another's replaces it.
#[derive(Debug, Clone, Default)]
pub struct AddressMemo<const BITS: u32> {
    /// Empty until the first address is read: a parser that never reads one
    /// (or the copy each worker gets) does not make or copy its room.
    entries: Vec<MemoEntry>,
}

/// A text (its bytes as a little-endian number, the bytes after it zero) and the
/// address it reads as. An empty entry's text is `0`, which no address's is.
#[derive(Debug, Clone, Copy, Default)]
struct MemoEntry {
    low: u64,
    high: u64,
    address: u32,
}

impl<const BITS: u32> AddressMemo<BITS> {
    /// Places are found by the top `BITS` bits of a 64-bit hash.
    const PLACES: usize = {
        assert!(BITS >= 1 && BITS <= 24, "a memo has 2 to 2^24 places");
        1 << BITS
    };

    /// Makes the memo's places (once, on first use).
    #[cold]
    #[inline(never)]
    fn make_room(&mut self) {
        self.entries = vec![MemoEntry::default(); Self::PLACES];
    }

    /// What [`fast_ipv4`] gives, from the memo when this text was read lately.
    #[inline(always)]
    pub fn ipv4(&mut self, room: &[u8], len: usize) -> Option<Ipv4Addr> {
        if !(7..=15).contains(&len) {
            return None;
        }
        if self.entries.is_empty() {
            self.make_room();
        }
        // The text as two words, the bytes after it cleared (`len` is 7 to 15).
        let mut pad = [0u8; 16];
        let window = window(room, len, &mut pad)?;
        let word = |at: usize| {
            window
                .get(at..at + 8)
                .and_then(|w| w.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        let low = word(0) & (u64::MAX >> (8 * (8 - len.min(8))));
        let high = word(8) & ((1u64 << (8 * (len - 8.min(len)))) - 1);
        let at = (low ^ high.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BITS);
        let entry = self.entries.get_mut(at as usize)?;
        if (entry.low, entry.high) == (low, high) {
            return Some(Ipv4Addr::from(entry.address));
        }
        let address = read_ipv4(window, len)?;
        *entry = MemoEntry {
            low,
            high,
            address: u32::from(address),
        };
        Some(address)
    }
}

/// A run of up to 19 ASCII digits as a number, or `None` for anything else (`-`,
/// signs, decimals, overflow): such fields go to the full parser.
#[inline]
pub fn fast_u64(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in field {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    Some(n)
}

/// The field `line[offset..offset + len]`, a run of up to 16 ASCII digits, as a
/// number; `None` for anything else (`-`, signs, decimals, too long), which goes to
/// the full parser. Eight digits at a time, without a branch per digit: a word
/// ending at the field's last byte is loaded from the line, the bytes before the
/// field read as `0`, checked to be digits, and converted with three
/// multiplications. Fields too close to the start of the line take the plain loop.
#[inline(always)]
pub fn fast_digits(line: &[u8], offset: usize, len: usize) -> Option<u64> {
    let end = offset + len;
    let swar = match len {
        1..=8 => eight_digits(line, end, len),
        // Unix seconds (until 2286): the first two digits on their own.
        10 => match (line.get(offset..offset + 2), eight_digits(line, end, 8)) {
            (Some(&[a, b]), Some(low)) if a.is_ascii_digit() && b.is_ascii_digit() => {
                Some(u64::from((a - b'0') * 10 + (b - b'0')) * 100_000_000 + low)
            }
            _ => None,
        },
        9..=16 => match (
            eight_digits(line, end - 8, len - 8),
            eight_digits(line, end, 8),
        ) {
            (Some(high), Some(low)) => Some(high * 100_000_000 + low),
            _ => None,
        },
        _ => None,
    };
    match swar {
        Some(n) => Some(n),
        None => fast_u64(line.get(offset..end)?),
    }
}

/// The `len` (1-8) digits that end at `line[end]`, as a number.
#[inline(always)]
fn eight_digits(line: &[u8], end: usize, len: usize) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let word: [u8; 8] = line.get(end.checked_sub(8)?..end)?.try_into().ok()?;
    let x = u64::from_le_bytes(word);
    // The low bytes come before the digits: they read as '0'.
    let pad = if len >= 8 { 0 } else { u64::MAX >> (8 * len) };
    let x = (x & !pad) | (ZEROS & pad);
    // Every byte is 0x30..=0x39: its high nibble is 3, and still 3 after adding 6.
    if (x & HIGH_NIBBLES) | ((x.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES) >> 4)
        != 0x3333_3333_3333_3333
    {
        return None;
    }
    // Pairs, then fours, then eight: each step is one multiplication.
    let x = (x & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(10 << 8 | 1) >> 8;
    let x = (x & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1) >> 16;
    Some((x & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1) >> 32)
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    /// A line and, when plain, its fields.
    type Scanned = (Vec<u8>, Option<Vec<Vec<u8>>>);

    /// Each line and its fields, as the scanner reports them.
    fn scanned(block: &[u8]) -> Vec<Scanned> {
        let mut out = Vec::new();
        let n = lines(block, |line| -> Result<(), ()> {
            let fields = line.bounds.map(|b| {
                (0..b.len() - 1)
                    .map(|i| {
                        let (at, len) = span(b, i).unwrap_or_default();
                        line.text()[at..at + len].to_vec()
                    })
                    .collect()
            });
            out.push((line.text().to_vec(), fields));
            Ok(())
        })
        .unwrap_or_default();
        assert_eq!(n as usize, out.len());
        out
    }

    proptest! {
        /// Lines are what `split('\n')` gives (less an empty last one), and a plain
        /// line's fields are what `split(' ')` gives; a line is plain exactly when it
        /// holds no control byte, nothing outside ASCII and at most 32 fields.
        #[test]
        fn lines_and_fields_agree_with_split(text in "([ a-z0-9.\n]|\t|\r|\u{1}|é){0,400}") {
            let got = scanned(text.as_bytes());
            let mut expected: Vec<&str> = text.split('\n').collect();
            if expected.last() == Some(&"") {
                expected.pop();
            }
            prop_assert_eq!(got.len(), expected.len());
            for ((line, fields), want) in got.iter().zip(&expected) {
                prop_assert_eq!(line.as_slice(), want.as_bytes());
                let parts: Vec<&str> = want.split(' ').collect();
                let plain = want.bytes().all(|b| (0x20..0x80).contains(&b))
                    && parts.len() <= MAX_FIELDS
                    && parts.iter().all(|p| !p.is_empty());
                prop_assert_eq!(fields.is_some(), plain, "{:?}", want);
                if let Some(fields) = fields {
                    let want: Vec<Vec<u8>> = parts.iter().map(|p| p.as_bytes().to_vec()).collect();
                    prop_assert_eq!(fields, &want);
                }
            }
        }

        #[test]
        fn addresses_agree_with_std(text in "[0-9.+-]{0,17}", after in "[0-9. ]{0,16}") {
            let std_ip = text.parse::<Ipv4Addr>().ok();
            let room = format!("{text}{after}");
            let fast = fast_ipv4(room.as_bytes(), text.len());
            if let Some(fast) = fast {
                prop_assert_eq!(Some(fast), std_ip);
            }
            // Everything std takes is taken (std takes no leading zeros either).
            prop_assert_eq!(fast, std_ip);
        }

        /// Dotted quads of one to four digits an octet (values to 9999, leading
        /// zeros) read as std reads them, wherever the field ends.
        #[test]
        fn dotted_quads_agree_with_std(
            octets in proptest::collection::vec("[0-9]{1,4}|2[0-9]{2}|25[0-9]", 4),
            after in "[0-9. ]{0,16}",
        ) {
            let text = octets.join(".");
            let room = format!("{text}{after}");
            prop_assert_eq!(fast_ipv4(room.as_bytes(), text.len()), text.parse::<Ipv4Addr>().ok(), "{}", text);
        }

        /// A memo answers as reading does, for texts that repeat, that share its
        /// four places (most replace another) and that differ only in a last
        /// byte or in length, valid or not, with or without sixteen bytes of room.
        #[test]
        fn a_memo_answers_as_reading_does(
            texts in proptest::collection::vec(
                (
                    prop_oneof![
                        (0u8..3, 0u16..300).prop_map(|(c, d)| format!("10.0.{c}.{d}")),
                        (0u8..30).prop_map(|d| format!("1.2.3.{d}")),
                        "0?[0-9]{1,3}[.][0-9]{1,2}[.]1[.][0-9]{1,3}",
                    ],
                    "[0-9. ]{0,12}",
                ),
                1..120,
            ),
        ) {
            let mut memo = AddressMemo::<2>::default();
            for (text, after) in &texts {
                let room = format!("{text}{after}");
                prop_assert_eq!(
                    memo.ipv4(room.as_bytes(), text.len()),
                    fast_ipv4(room.as_bytes(), text.len()),
                    "{}", text
                );
            }
        }

        #[test]
        fn numbers_agree_with_std(text in "[0-9.+-]{0,22}") {
            if let Some(fast) = fast_u64(text.as_bytes()) {
                prop_assert_eq!(Some(fast), text.parse::<u64>().ok());
            }
            prop_assert_eq!(fast_digits(text.as_bytes(), 0, text.len()), fast_u64(text.as_bytes()));
        }

        /// Digits read a word at a time, wherever they sit in a line, agree with std.
        #[test]
        fn digits_inside_a_line_agree_with_std(
            before in "[0-9 a-z]{0,12}",
            field in prop_oneof!["[0-9]{1,19}", "[0-9/:;x+-]{1,10}"],
            after in "[0-9 ]{0,3}",
        ) {
            let line = format!("{before}{field}{after}");
            prop_assert_eq!(
                fast_digits(line.as_bytes(), before.len(), field.len()),
                field.parse::<u64>().ok().filter(|_| field.bytes().all(|b| b.is_ascii_digit()))
            );
        }
    }

    #[test]
    fn every_address_shape_reads_as_std_does() {
        for text in [
            "1.2.3.4",
            "255.255.255.255",
            "0.0.0.0",
            "10.0.0.1",
            "192.168.100.200",
            "1.22.3.44",
        ] {
            assert_eq!(
                fast_ipv4(text.as_bytes(), text.len()),
                text.parse().ok(),
                "{text}"
            );
        }
        for text in [
            "01.2.3.4",
            "1.2.3.256",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.4444",
            "300.1.1.1",
        ] {
            assert_eq!(fast_ipv4(text.as_bytes(), text.len()), None, "{text}");
        }
        // A field at the very end of a block (no sixteen bytes to read) reads the same.
        let room = b"8.8.4.4";
        assert_eq!(fast_ipv4(room, 7), Some(Ipv4Addr::new(8, 8, 4, 4)));
    }

    /// Ten digits (Unix seconds) read as std reads them, and one byte that is no
    /// digit anywhere in them makes them no number (the bytes next to `0`-`9`).
    #[test]
    fn ten_digit_fields_read_as_std() {
        let line = "start 1780000061 end";
        assert_eq!(fast_digits(line.as_bytes(), 6, 10), Some(1_780_000_061));
        for i in 0..10 {
            for stray in [b'/', b':', b'x'] {
                let mut bytes = line.as_bytes().to_vec();
                bytes[6 + i] = stray;
                assert_eq!(
                    fast_digits(&bytes, 6, 10),
                    None,
                    "{}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }

    #[test]
    fn a_line_across_chunks_and_a_last_line_without_newline() {
        let long = format!("{} b\nc d", "a".repeat(100));
        let got = scanned(long.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            got[1],
            (b"c d".to_vec(), Some(vec![b"c".to_vec(), b"d".to_vec()]))
        );
        // A control byte in one line leaves the next line plain.
        let got = scanned(b"a\tb\nc d\n");
        assert_eq!(got[0].1, None);
        assert!(got[1].1.is_some());
        // A last line without its newline, ending inside a chunk or on its edge
        // (the block is 4 + len bytes);
        // with a trailing space it has an empty last field.
        for len in [1, 59, 60, 61, 124] {
            let text = format!("{}{}", "x".repeat(len - 1), "y");
            let got = scanned(format!("a b\n{text}").as_bytes());
            assert_eq!(
                got[1],
                (
                    text.as_bytes().to_vec(),
                    Some(vec![text.as_bytes().to_vec()])
                ),
                "{len}"
            );
            let spaced = format!("{} ", "x".repeat(len - 1));
            let got = scanned(format!("a b\n{spaced}").as_bytes());
            assert_eq!(got[1], (spaced.as_bytes().to_vec(), None), "{len}");
        }
        // So does a line of many more fields than a line may have.
        let many = format!("{}\nc d\n", vec!["f"; 150].join(" "));
        let got = scanned(many.as_bytes());
        assert_eq!(got[0].1, None);
        assert_eq!(
            got[1],
            (b"c d".to_vec(), Some(vec![b"c".to_vec(), b"d".to_vec()]))
        );
    }
}
