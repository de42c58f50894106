fn main() {
    // placeholder until the crate lands
}
