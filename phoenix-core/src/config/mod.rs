//! Config loading: the JSON files, their locations, key claims and typed decoding.
