//! Turns a finished wipe into its record: the signed certificate on disk (before anything
//! reports the drive done), then the register entry and outbox row in one transaction. The
//! computer certificate (when the computer is the asset) goes the same way.

use crate::certificate::computer::{ComputerContext, ComputerRecord, Host};
use crate::certificate::issue::{Issued, issue, issue_record};
use crate::certificate::keys::StationKey;
use crate::certificate::record::{Issuable, Record, Rewipe, WipeFacts};
use crate::device::inventory::Inventory;
use crate::register::{AssetRef, AssetState, Linked};

use super::context::StationContext;
use super::job::Finished;

/// A finished wipe and what became of its record.
pub struct Delivered {
    pub finished: Finished,
    /// The certificate, or why it could not be written.
    pub issued: Result<Issued, String>,
    /// How the register linked it, if it stored it.
    pub linked: Option<Linked>,
    /// Why the register could not store it, if it could not.
    pub register_error: Option<String>,
}

/// A computer certificate and what became of it in the register.
pub struct ComputerDelivered {
    pub issued: Issued<ComputerRecord>,
    /// How the register linked it, if it stored it.
    pub linked: Option<Linked>,
    /// Why the register could not store it, if it could not.
    pub register_error: Option<String>,
}

/// Issues certificates and records them, for every worker of a session.
pub struct Recorder {
    ctx: StationContext,
    key: StationKey,
}

impl Recorder {
    pub(super) fn new(ctx: StationContext, key: StationKey) -> Recorder {
        Recorder { ctx, key }
    }

    /// The context the recorder was built from.
    pub fn context(&self) -> &StationContext {
        &self.ctx
    }

    /// The asset registered under the computer's chassis asset tag or system serial.
    pub fn computer_asset(&self, host: &Host) -> Option<AssetRef> {
        let (tag, serial) = host.asset_keys();
        let register = self.ctx.register();
        tag.and_then(|t| register.find_asset(Some(t), None).ok().flatten())
            .or_else(|| serial.and_then(|s| register.find_asset(None, Some(s)).ok().flatten()))
    }

    /// Records one finished wipe: certificate first (fsync, atomic rename), then the
    /// checkpoint goes (a finished wipe) or stays (an incomplete one), then the register links
    /// it to `asset` (else, when the drive was inside the computer that is the asset, `host`'s
    /// asset; else the drive's serial) and queues it for the central register.
    pub fn record(
        &self,
        finished: Finished,
        disposition: &super::session::Disposition,
    ) -> Delivered {
        let asset = disposition.asset.as_deref();
        let operator = disposition.operator.as_deref();
        let host = disposition.host.as_ref();
        let by_host = match (asset, host) {
            (None, Some(h)) => self.computer_asset(h).map(|a| a.asset_tag),
            _ => None,
        };
        let asset = asset.or(by_host.as_deref());
        let found = {
            self.ctx
                .register()
                .find_asset(asset, finished.drive.serial.as_deref())
                .ok()
                .flatten()
        };
        let mut issue_ctx = self.ctx.issue_context(disposition.destination);
        issue_ctx.host = host.cloned();
        if let Some(person) = operator {
            issue_ctx.performed_by.operator = person.to_string();
        }
        if let Some(a) = &found {
            issue_ctx.customer = Some(a.customer.clone());
            issue_ctx.collection = Some(a.collection.clone());
            issue_ctx.asset_tags = vec![a.asset_tag.clone()];
            // Only a confirmed rewipe starts on a finished asset; the state it had is said.
            if disposition.rewipe && matches!(a.state, AssetState::Retired | AssetState::Destroyed)
            {
                issue_ctx.rewipe = Some(Rewipe::of(a.state.as_str()));
            }
        }
        let issuable = Issuable::from_wipe(
            WipeFacts {
                wipe_id: &finished.wipe_id,
                drive: &finished.drive,
                method: finished.method.clone(),
                hidden_areas: finished.hidden_areas.clone(),
                started_at: &finished.started_at,
                ended_at: &finished.ended_at,
                outcome: &finished.outcome,
            },
            &issue_ctx,
        );
        let issued = issue(issuable, &self.key, &self.ctx.certificates).map_err(|e| e.to_string());
        let mut linked = None;
        let mut register_error = None;
        if let Ok(i) = &issued {
            finished.settle();
            let recorded = i.signed().map_err(|e| e.to_string()).and_then(|cert| {
                self.ctx
                    .register()
                    .record_certificate(&cert, &i.document, asset, true, &self.ctx.actor)
                    .map_err(|e| e.to_string())
            });
            match recorded {
                Ok(l) => linked = Some(l),
                Err(e) => register_error = Some(e),
            }
        }
        Delivered {
            finished,
            issued,
            linked,
            register_error,
        }
    }

    /// Issues the computer certificate of the computer described by `inventory` whose drives'
    /// certificates are `drives`, naming the asset registered under its chassis asset tag or
    /// system serial (else the asset its drives were linked to).
    pub fn record_computer(
        &self,
        inventory: &Inventory,
        drives: &[Record],
    ) -> Result<ComputerDelivered, String> {
        let base = self
            .ctx
            .issue_context(self.ctx.state.config.defaults.destination);
        let found = self.computer_asset(&Host::of(inventory)).or_else(|| {
            let tag = drives.iter().find_map(|d| d.asset_tags.first())?;
            self.ctx
                .register()
                .find_asset(Some(tag), None)
                .ok()
                .flatten()
        });
        let ctx = ComputerContext {
            organisation: base.organisation,
            performed_by: base.performed_by,
            customer: found.as_ref().map(|a| a.customer.clone()),
            collection: found.as_ref().map(|a| a.collection.clone()),
            asset_tags: found.map(|a| vec![a.asset_tag]).unwrap_or_default(),
        };
        let record = ComputerRecord::from_drives(inventory.clone(), drives, ctx);
        let issued = issue_record(record, &self.key, &self.ctx.certificates, |_| Ok(None))
            .map_err(|e| e.to_string())?;
        // Written first; then the register links it to the computer's asset and queues it.
        let recorded = issued.signed().map_err(|e| e.to_string()).and_then(|cert| {
            self.ctx
                .register()
                .record_computer(&cert, &issued.document, true, &self.ctx.actor)
                .map_err(|e| e.to_string())
        });
        let (linked, register_error) = match recorded {
            Ok(l) => (Some(l), None),
            Err(e) => (None, Some(e)),
        };
        Ok(ComputerDelivered {
            issued,
            linked,
            register_error,
        })
    }
}
