//! Checking a drive against its certificate: is it the drive the certificate names, and do its
//! sample regions read now hash to the certified digest?

use super::*;

pub(super) fn check_drive(
    report: &mut Report,
    drive: &Path,
    record: &Record,
) -> Result<(), CheckError> {
    let shown = drive.display().to_string();
    let target = Target::open_read(drive).map_err(|e| CheckError::Drive {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let geometry = target.geometry();
    let ctx = crate::device::GuardContext::new(vec![], None);
    let info = crate::device::discovery::describe_target(&target, &ctx);
    let m = &record.media;
    let mut problems = Vec::new();
    if geometry.size_bytes != m.size_bytes {
        problems.push(format!(
            "{shown} has {} bytes, the certificate {}",
            geometry.size_bytes, m.size_bytes
        ));
    }
    if let (Some(a), Some(b)) = (&info.serial, &m.serial)
        && a != b
    {
        problems.push(format!("{shown} has serial {a}, the certificate {b}"));
    }
    if problems.is_empty() {
        report.push(
            "drive_identity",
            true,
            format!(
                "{shown}: serial {}, {} bytes, as certified",
                info.serial.as_deref().unwrap_or("-"),
                geometry.size_bytes
            ),
        );
    } else {
        report.push("drive_identity", false, problems.join("; "));
    }

    let v = &record.verification;
    let (Some(plan), Some(digest)) = (&v.plan, v.final_digest()) else {
        report.push(
            "drive_content",
            false,
            "the certificate records no sample digest to compare the drive with",
        );
        return Ok(());
    };
    let seed: Option<[u8; 32]> = hex::decode(&plan.seed).ok().and_then(|s| s.try_into().ok());
    let Some(seed) = seed else {
        report.push(
            "drive_content",
            false,
            "the certificate's sample seed is not 32 bytes of hex",
        );
        return Ok(());
    };
    let built = SamplePlan::build(PlanParams {
        size_bytes: plan.size_bytes,
        sector_size: plan.sector_size,
        coverage_ppm: plan.requested_coverage_ppm,
        seed,
    });
    let built = match built {
        Ok(p)
            if p.regions.len() as u64 == plan.region_count
                && plan.size_bytes == geometry.size_bytes =>
        {
            p
        }
        Ok(_) => {
            report.push(
                "drive_content",
                false,
                "the sampling plan cannot be rebuilt for this drive (size or plan differ)",
            );
            return Ok(());
        }
        Err(e) => {
            report.push(
                "drive_content",
                false,
                format!("the certificate's sampling plan is invalid: {e}"),
            );
            return Ok(());
        }
    };
    let r = read_plan(
        &target,
        &built,
        Expected::Nothing,
        &NullSink,
        &StopFlag::new(),
    );
    if let Some(g) = r.gone {
        return Err(CheckError::Drive {
            path: shown,
            reason: g,
        });
    }
    let now = hex::encode(r.digest(&built));
    if !r.unreadable.is_empty() {
        report.push(
            "drive_content",
            false,
            format!(
                "{} region(s) of {shown} could not be read",
                r.unreadable.len()
            ),
        );
    } else if now == digest {
        report.push(
            "drive_content",
            true,
            format!(
                "{} sample regions ({} bytes) read from {shown} hash to the certified digest",
                built.regions.len(),
                r.bytes_read
            ),
        );
    } else {
        report.push(
            "drive_content",
            false,
            format!(
                "the {} sample regions read from {shown} do not hash to the certified digest: the drive changed since it was certified",
                built.regions.len()
            ),
        );
    }
    Ok(())
}
