//! The decider: a pure function from (workflow definition, history) to decisions.
