//! Ground truth loaders. PLACEHOLDER: being written.
