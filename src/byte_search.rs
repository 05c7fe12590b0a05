//! Finding one byte in a slice eight bytes at a time, for the few scans that run on every
//! request (the ids in an audited call's path).

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The bytes of `word` equal to `needle`, as the high bit of each byte. Exact per byte (no
/// borrow crosses bytes), so the lowest and the highest set bit both point at a match.
fn matches(word: [u8; 8], needle: u8) -> u64 {
    let x = u64::from_le_bytes(word) ^ (ONES * u64::from(needle));
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// `bytes.iter().position(|&b| b == needle)`, eight bytes at a time (paths and templates are
/// walked on every audited call).
pub(crate) fn find_byte(bytes: &[u8], needle: u8) -> Option<usize> {
    let (words, rest) = bytes.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let found = matches(*word, needle);
        if found != 0 {
            return Some(i * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let tail = words.len() * 8;
    rest.iter().position(|&b| b == needle).map(|i| tail + i)
}

/// `bytes.iter().rposition(|&b| b == needle)`, eight bytes at a time.
pub(crate) fn rfind_byte(bytes: &[u8], needle: u8) -> Option<usize> {
    let (head, words) = bytes.as_rchunks::<8>();
    for (i, word) in words.iter().enumerate().rev() {
        let found = matches(*word, needle);
        if found != 0 {
            return Some(head.len() + i * 8 + (63 - found.leading_zeros() as usize) / 8);
        }
    }
    head.iter().rposition(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_at_a_time_searches_find_what_the_iterator_finds() {
        // Every length up to three words, the needle at every position, once, twice or not
        // at all, next to bytes that differ from it by one bit (borrows) and high bytes.
        for len in 0..=24 {
            for (first, second) in [(None, None), (Some(0), None), (Some(0), Some(1))]
                .into_iter()
                .chain((0..len).flat_map(|a| (a..len).map(move |b| (Some(a), Some(b)))))
            {
                let mut bytes: Vec<u8> = (0..len)
                    .map(|i| [b'.', 0x2e, b'0', 0xaf, 0x01][i % 5])
                    .collect();
                for at in [first, second].into_iter().flatten().filter(|&at| at < len) {
                    bytes[at] = b'/';
                }
                assert_eq!(
                    find_byte(&bytes, b'/'),
                    bytes.iter().position(|&b| b == b'/'),
                    "{bytes:?}"
                );
                assert_eq!(
                    rfind_byte(&bytes, b'/'),
                    bytes.iter().rposition(|&b| b == b'/'),
                    "{bytes:?}"
                );
            }
        }
    }
}
