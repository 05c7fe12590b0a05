//! The ids in a request's path, read back from the path as sent and its template.

use std::fmt;

use serde::Serialize;

use crate::byte_search::{find_byte, rfind_byte};

/// The ids in a request's path by parameter name, in path order
/// (`[("campaign_id", "cmp_1"), ("ad_id", "ad_2")]`), as sent (percent-encoded if they needed
/// it). Serializes as a JSON object.
///
/// It holds the path template and the path, and reads the ids from them when asked: an
/// [`AuditRecord`](crate::audit::AuditRecord) carries one, and
/// [`JsonLinesSink`](crate::audit::JsonLinesSink) reads it on its writer thread, so the
/// request itself never pays for the walk.
///
/// ```
/// # use marketing_api::audit::AuditRecord;
/// fn ids_of(record: &AuditRecord<'_>) -> Vec<String> {
///     record
///         .resource_ids
///         .to_vec()
///         .into_iter()
///         .map(|(name, value)| format!("{name}={value}"))
///         .collect()
/// }
/// ```
#[derive(Clone, Copy)]
pub struct ResourceIds<'a> {
    template: &'static str,
    path: &'a str,
}

impl<'a> ResourceIds<'a> {
    /// The ids of `template` filled into `path` (which may carry a base URL's prefix).
    pub(crate) fn new(template: &'static str, path: &'a str) -> Self {
        ResourceIds { template, path }
    }

    /// The path as sent, the ids' source (a [`JsonLinesSink`](crate::audit::JsonLinesSink)
    /// queue copies it whole instead of id by id).
    pub(crate) fn path(&self) -> &'a str {
        self.path
    }

    /// The ids, in path order.
    pub fn to_vec(&self) -> Vec<(&'static str, &'a str)> {
        let mut ids = Vec::new();
        self.each_from_last(|name, value| ids.push((name, value)));
        ids.reverse();
        ids
    }

    /// Whether the path has no ids (its template no parameter).
    pub fn is_empty(&self) -> bool {
        find_byte(self.template.as_bytes(), b'{').is_none()
    }

    /// Calls `f` with the ids in path order without allocating (the audit writer's form: it
    /// runs once per record): the API's paths hold a handful of ids, kept on the stack; a
    /// longer list goes through a vector.
    pub(crate) fn with_each<R>(&self, f: impl FnOnce(&[(&'static str, &'a str)]) -> R) -> R {
        const INLINE: usize = 8;
        let mut inline: [(&'static str, &'a str); INLINE] = [("", ""); INLINE];
        let mut count = 0;
        self.each_from_last(|name, value| {
            if count < INLINE {
                inline[count] = (name, value);
            }
            count += 1;
        });
        if count > INLINE {
            return f(&self.to_vec());
        }
        let ids = &mut inline[..count];
        ids.reverse();
        f(ids)
    }

    /// The ids in the path, last first.
    fn each_from_last(&self, mut f: impl FnMut(&'static str, &'a str)) {
        // The URL path ends with the filled template (the base URL may add a prefix), so the
        // two are walked from the end, segment by segment, by hand: this runs once per audit
        // record, and the generic splitters cost several times more. Only a parameter's value
        // is searched for; a literal segment, sent as written, is stepped over by its length,
        // and the walk stops at the template's first parameter.
        let template = self.template;
        let path = self.path;
        let (t, p) = (template.as_bytes(), path.as_bytes());
        let Some(first_brace) = find_byte(t, b'{') else {
            return;
        };
        let segment_start =
            |bytes: &[u8], end: usize| rfind_byte(&bytes[..end], b'/').map_or(0, |i| i + 1);
        let (mut t_end, mut p_end) = (t.len(), p.len());
        loop {
            let t_start = segment_start(t, t_end);
            let segment = &template[t_start..t_end];
            let p_start =
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let p_start = segment_start(p, p_end);
                    f(name, &path[p_start..p_end]);
                    p_start
                } else if p[..p_end].ends_with(segment.as_bytes())
                    && (p_end == segment.len() || p[p_end - segment.len() - 1] == b'/')
                {
                    p_end - segment.len()
                } else {
                    // Sent percent-encoded, or text and a parameter in one segment: search.
                    segment_start(p, p_end)
                };
            if t_start <= first_brace || p_start == 0 {
                break;
            }
            (t_end, p_end) = (t_start - 1, p_start - 1);
        }
    }
}

impl fmt::Debug for ResourceIds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_each(|ids| f.debug_map().entries(ids.iter().copied()).finish())
    }
}

impl Serialize for ResourceIds<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_each(|ids| serializer.collect_map(ids.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious way: split both on `/` and pair the segments from the end.
    fn reference(template: &'static str, path: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut found: Vec<_> = template
            .rsplit('/')
            .zip(path.rsplit('/'))
            .filter_map(|(t, p)| {
                let name = t.strip_prefix('{')?.strip_suffix('}')?;
                Some((name, p))
            })
            .collect();
        found.reverse();
        found
    }

    #[test]
    fn ids_are_found_under_any_base_path_and_segment_shape() {
        let cases: &[(&str, &str)] = &[
            ("/campaigns/{campaign_id}", "/v1/campaigns/cmp_1"),
            ("/campaigns/{campaign_id}", "/campaigns/cmp_1"),
            (
                "/campaigns/{campaign_id}/ads/{ad_id}",
                "/api/v1/campaigns/cmp_1/ads/ad_2",
            ),
            (
                "/campaigns/{campaign_id}/ads/{ad_id}/pause",
                "/v1/campaigns/c/ads/a/pause",
            ),
            ("/{tenant}/{id}", "/t1/i2"),
            ("/{tenant}/{id}", "/base/t1/i2"),
            ("/campaigns", "/v1/campaigns"),
            ("/campaigns/", "/v1/campaigns/"),
            (
                "/contacts/{contact_id}/export",
                "/v1/contacts/ctc%2F1/export",
            ),
            // A literal sent percent-encoded, and a segment mixing text and a parameter.
            ("/files/{id}/caf\u{e9}", "/v1/files/f1/caf%C3%A9"),
            ("/files/{id}/v{version}.json", "/v1/files/f1/v2.json"),
            ("/a/{x}/b/{y}/c/{z}", "/prefix/a/1/b/2/c/3"),
            // More ids than the walk keeps on the stack.
            (
                "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}",
                "/v1/1/2/3/4/5/6/7/8/9/10",
            ),
        ];
        for &(template, path) in cases {
            let ids = ResourceIds::new(template, path);
            let expected = reference(template, path);
            assert_eq!(ids.to_vec(), expected, "{template} in {path}");
            assert_eq!(
                ids.with_each(<[_]>::to_vec),
                expected,
                "{template} in {path}"
            );
            assert_eq!(ids.is_empty(), expected.is_empty(), "{template}");
            let object: serde_json::Map<String, serde_json::Value> = expected
                .iter()
                .map(|(name, value)| (name.to_string(), (*value).into()))
                .collect();
            assert_eq!(
                serde_json::to_value(ids).unwrap(),
                serde_json::Value::Object(object)
            );
        }
        assert_eq!(
            ResourceIds::new(
                "/campaigns/{campaign_id}/ads/{ad_id}",
                "/v1/campaigns/cmp_1/ads/ad_2"
            )
            .to_vec(),
            [("campaign_id", "cmp_1"), ("ad_id", "ad_2")]
        );
        assert_eq!(
            format!(
                "{:?}",
                ResourceIds::new("/campaigns/{campaign_id}", "/v1/campaigns/cmp_1")
            ),
            r#"{"campaign_id": "cmp_1"}"#
        );
    }
}
