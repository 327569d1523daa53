//! Who may talk to a central register: enrolled stations (by public key, with a name the
//! register holds them to) and the read tokens of the HTTP API (only their SHA-256 is kept).
//! Every change is a custody event.

use crate::register::db::{Db, params};

use super::{custody, db, views};
use crate::register::*;

/// Enrolls a station's key under `name`. A key already enrolled is refused: enrolment never
/// renames a station silently.
pub(super) fn enroll(
    tx: &dyn Db,
    p: &str,
    key_id: &str,
    name: &str,
    pem: &str,
    actor: &Actor,
) -> Result<(), RegisterError> {
    check_name(name)?;
    let existing: Option<String> = tx
        .query_opt(
            "SELECT name FROM stations WHERE key_id = ?1",
            params![key_id],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    if let Some(existing) = existing {
        return Err(RegisterError::StationEnrolled {
            key_id: key_id.into(),
            name: existing,
        });
    }
    tx.execute(
        "INSERT INTO stations (key_id, name, public_key, enrolled_at) VALUES (?1, ?2, ?3, ?4)",
        params![key_id, name, pem, crate::timestamp::now()],
    )
    .map_err(db(p))?;
    custody::append(
        tx,
        p,
        actor,
        None,
        "station",
        serde_json::json!({ "key_id": key_id, "name": name }),
    )
}

/// A newline or a terminal escape in a name would go raw into `stations list`.
fn check_name(name: &str) -> Result<(), RegisterError> {
    if name.is_empty() || name.chars().count() > 64 || crate::identifier::problem(name).is_some() {
        return Err(RegisterError::BadStationName(name.into()));
    }
    Ok(())
}

/// Records that the key `key_id` signed as `from` and now signs as `to` (see
/// `Register::rename_station`).
pub(super) fn rename(
    tx: &dyn Db,
    p: &str,
    key_id: &str,
    (from, to): (&str, &str),
    actor: &Actor,
) -> Result<bool, RegisterError> {
    check_name(from)?;
    check_name(to)?;
    let all = views::stations(tx, p)?;
    let Some(station) = all.iter().find(|s| s.key_id == key_id) else {
        return Err(RegisterError::UnknownStation(key_id.into()));
    };
    // A name is one key's: a key may not take a name another enrolled key signs under.
    for name in [from, to] {
        if let Some(other) = all
            .iter()
            .find(|s| s.key_id != key_id && s.answers_to(name))
        {
            return Err(RegisterError::StationNameHeld {
                name: name.into(),
                key_id: other.key_id.clone(),
                renamed: key_id.into(),
            });
        }
    }
    let mismatch = || RegisterError::RenameMismatch {
        key_id: key_id.into(),
        enrolled: station.name.clone(),
        from: from.into(),
        to: to.into(),
    };
    if from == to {
        return Err(mismatch());
    }
    if station.answers_to(from) && station.answers_to(to) {
        return Ok(false);
    }
    let now = crate::timestamp::now();
    if station.name == from {
        tx.execute(
            "UPDATE stations SET name = ?2 WHERE key_id = ?1",
            params![key_id, to],
        )
        .map_err(db(p))?;
    } else if station.name != to {
        return Err(mismatch());
    }
    tx.execute(
        "INSERT INTO station_names (key_id, name, recorded_at) VALUES (?1, ?2, ?3)",
        params![key_id, from, now],
    )
    .map_err(db(p))?;
    custody::append(
        tx,
        p,
        actor,
        None,
        "station-renamed",
        serde_json::json!({ "key_id": key_id, "from": from, "to": to }),
    )?;
    Ok(true)
}

/// The station named `who` (a key id, or a name held by exactly one key).
fn find(tx: &dyn Db, p: &str, who: &str) -> Result<StationView, RegisterError> {
    let all = views::stations(tx, p)?;
    if let Some(s) = all.iter().find(|s| s.key_id == who) {
        return Ok(s.clone());
    }
    let named: Vec<&StationView> = all.iter().filter(|s| s.name == who).collect();
    match named.as_slice() {
        [] => Err(RegisterError::UnknownStation(who.into())),
        [one] => Ok((*one).clone()),
        many => Err(RegisterError::AmbiguousStation {
            name: who.into(),
            key_ids: many.iter().map(|s| s.key_id.clone()).collect(),
        }),
    }
}

/// Removes an enrolment that has no certificates here.
pub(super) fn remove(
    tx: &dyn Db,
    p: &str,
    who: &str,
    actor: &Actor,
) -> Result<StationView, RegisterError> {
    let station = find(tx, p, who)?;
    let count: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM certificates WHERE key_id = ?1",
            params![&station.key_id],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    if count > 0 {
        return Err(RegisterError::StationHasCertificates {
            name: station.name,
            key_id: station.key_id,
            count: count as u64,
        });
    }
    tx.execute(
        "DELETE FROM stations WHERE key_id = ?1",
        params![&station.key_id],
    )
    .map_err(db(p))?;
    revoke_certificates(tx, p, &station.key_id, &crate::timestamp::now())?;
    custody::append(
        tx,
        p,
        actor,
        None,
        "station-removed",
        serde_json::json!({ "key_id": station.key_id, "name": station.name }),
    )?;
    Ok(station)
}

/// Revokes a station from now on; `accept_through` names the last certificate of its own chain
/// still accepted (see `admission`).
pub(super) fn revoke(
    tx: &dyn Db,
    p: &str,
    who: &str,
    accept_through: Option<&str>,
    actor: &Actor,
) -> Result<StationView, RegisterError> {
    let mut station = find(tx, p, who)?;
    if let Some(at) = station.revoked_at {
        return Err(RegisterError::AlreadyRevoked {
            name: station.name,
            key_id: station.key_id,
            at,
        });
    }
    let now = crate::timestamp::now();
    tx.execute(
        "UPDATE stations SET revoked_at = ?2, accept_through = ?3 WHERE key_id = ?1",
        params![station.key_id, now, accept_through],
    )
    .map_err(db(p))?;
    revoke_certificates(tx, p, &station.key_id, &now)?;
    custody::append(
        tx,
        p,
        actor,
        None,
        "station-revoked",
        serde_json::json!({
            "key_id": station.key_id,
            "name": station.name,
            "revoked_at": now,
            "accept_through": accept_through,
        }),
    )?;
    station.revoked_at = Some(now);
    station.accept_through = accept_through.map(str::to_string);
    Ok(station)
}

/// Marks the CA certificates issued to `key_id` revoked at `at` (its station revoked, or its
/// enrolment removed): the CRL lists them from then on.
fn revoke_certificates(tx: &dyn Db, p: &str, key_id: &str, at: &str) -> Result<(), RegisterError> {
    tx.execute(
        "UPDATE station_certificates SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL",
        params![key_id, at],
    )
    .map_err(db(p))?;
    Ok(())
}

/// Stores a certificate the register's CA issued to the enrolled station `key_id`.
pub(super) fn record_certificate(
    tx: &dyn Db,
    p: &str,
    key_id: &str,
    serial: &str,
    pem: &str,
) -> Result<(), RegisterError> {
    find(tx, p, key_id)?;
    tx.execute(
        "INSERT INTO station_certificates (serial, key_id, certificate, issued_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![serial, key_id, pem, crate::timestamp::now()],
    )
    .map_err(db(p))?;
    Ok(())
}

/// Every certificate the register's CA issued, oldest first.
pub(super) fn certificates(
    conn: &dyn Db,
    p: &str,
) -> Result<Vec<StationCertificateView>, RegisterError> {
    super::rows(
        conn,
        p,
        "SELECT serial, key_id, certificate, issued_at, revoked_at FROM station_certificates
         ORDER BY issued_at, serial",
        params![],
        |r| {
            Ok(StationCertificateView {
                serial: r.get(0)?,
                key_id: r.get(1)?,
                certificate: r.get(2)?,
                issued_at: r.get(3)?,
                revoked_at: r.get(4)?,
            })
        },
    )
}

/// Stores a read token's hash under a new name.
pub(super) fn add_token(
    tx: &dyn Db,
    p: &str,
    name: &str,
    sha256: &str,
    actor: &Actor,
) -> Result<(), RegisterError> {
    let inserted = tx
        .execute(
            "INSERT INTO api_tokens (name, sha256, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![name, sha256, crate::timestamp::now()],
        )
        .map_err(db(p))?;
    if inserted == 0 {
        return Err(RegisterError::TokenExists(name.into()));
    }
    custody::append(
        tx,
        p,
        actor,
        None,
        "token",
        serde_json::json!({ "name": name }),
    )
}

/// Removes the token `name`.
pub(super) fn remove_token(
    tx: &dyn Db,
    p: &str,
    name: &str,
    actor: &Actor,
) -> Result<(), RegisterError> {
    let removed = tx
        .execute("DELETE FROM api_tokens WHERE name = ?1", params![name])
        .map_err(db(p))?;
    if removed == 0 {
        return Err(RegisterError::UnknownToken(name.into()));
    }
    custody::append(
        tx,
        p,
        actor,
        None,
        "token-removed",
        serde_json::json!({ "name": name }),
    )
}
