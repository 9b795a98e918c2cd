//! The world map behind compliance reports: Natural Earth 1:50m country shapes
//! (public domain), projected and simplified by `geodb/make_world_map.py` into
//! `geodb/world-map.tsv` (ISO code, name, SVG path), embedded in the binary.

/// The embedded shapes.
const WORLD: &str = include_str!("../../geodb/world-map.tsv");

/// Width and height of the map's coordinate space.
pub const VIEWBOX: (u32, u32) = (1000, 420);

/// One country shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// ISO 3166-1 alpha-2 code (`-` when Natural Earth has none).
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// SVG path data.
    pub path: &'static str,
}

/// Every shape, in file order (by code).
pub fn shapes() -> impl Iterator<Item = Shape> {
    WORLD
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            Some(Shape {
                code: parts.next()?,
                name: parts.next()?,
                path: parts.next()?,
            })
        })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_map_has_the_eea_and_the_usual_destinations() {
        let codes: Vec<&str> = shapes().map(|s| s.code).collect();
        for c in [
            "DE", "FR", "PL", "GB", "US", "IN", "MT", "LU", "LI", "IS", "NO", "CY",
        ] {
            assert!(codes.contains(&c), "{c} missing from the map");
        }
        assert!(shapes().all(|s| s.path.starts_with('M') && s.path.ends_with('Z')));
    }
}
