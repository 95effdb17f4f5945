//! pressbot-activities
