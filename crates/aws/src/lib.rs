//! pressbot-aws
