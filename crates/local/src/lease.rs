//! [`LeaseStore`] as a SQLite row: `leases(name, holder, token, expires)`.
//!
//! Every operation is one `BEGIN IMMEDIATE` transaction, which holds the
//! database's write lock: of two processes acquiring at once, the second
//! reads the first one's row and finds it held. Time is each process's
//! clock (the processes share a host, so a clock).

use crate::db::immediate;
use crate::{LocalBackend, LocalError};
use async_trait::async_trait;
use pressbot_core::lease::{Acquired, Lease, LeaseRecord, LeaseStore};
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use std::time::Duration;

fn row(c: &Connection, name: &str) -> rusqlite::Result<Option<LeaseRecord>> {
    c.prepare_cached("SELECT holder, token, expires FROM leases WHERE name = ?1")?
        .query_row(params![name], |r| {
            Ok(LeaseRecord {
                holder: r.get(0)?,
                token: r.get(1)?,
                expires_ms: r.get(2)?,
            })
        })
        .optional()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl LeaseStore for LocalBackend {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> pressbot_core::Result<Acquired> {
        let (n, h) = (name.to_owned(), holder.to_owned());
        Ok(self
            .run("acquire lease", name.to_owned(), move |c, _ctx| {
                let tx = immediate(c)?;
                let now = Timestamp::now();
                if let Some(r) = row(&tx, &n)? {
                    if !r.free_at(now) {
                        return Ok(Acquired::Busy(r.held(&n)));
                    }
                }
                let r = LeaseRecord {
                    holder: h,
                    token: uuid::Uuid::new_v4().simple().to_string(),
                    expires_ms: now.millis().saturating_add(ms(ttl)),
                };
                tx.execute(
                    "INSERT INTO leases (name, holder, token, expires) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                         token = excluded.token, expires = excluded.expires",
                    params![n, r.holder, r.token, r.expires_ms],
                )?;
                tx.commit()?;
                Ok::<_, LocalError>(Acquired::Held(r.lease(&n)))
            })
            .await?)
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> pressbot_core::Result<Option<Lease>> {
        let l = lease.clone();
        Ok(self
            .run("renew lease", lease.name.clone(), move |c, _ctx| {
                let tx = immediate(c)?;
                let now = Timestamp::now();
                match row(&tx, &l.name)? {
                    Some(r) if r.token == l.token && !r.free_at(now) => {
                        let expires = now.millis().saturating_add(ms(ttl));
                        tx.execute(
                            "UPDATE leases SET expires = ?2 WHERE name = ?1",
                            params![l.name, expires],
                        )?;
                        tx.commit()?;
                        Ok::<_, LocalError>(Some(Lease {
                            expires: Timestamp(expires),
                            ..l
                        }))
                    }
                    _ => Ok(None),
                }
            })
            .await?)
    }

    async fn release(&self, lease: &Lease) -> pressbot_core::Result<()> {
        let l = lease.clone();
        Ok(self
            .run("release lease", lease.name.clone(), move |c, _ctx| {
                c.execute(
                    "DELETE FROM leases WHERE name = ?1 AND token = ?2",
                    params![l.name, l.token],
                )?;
                Ok::<_, LocalError>(())
            })
            .await?)
    }
}
