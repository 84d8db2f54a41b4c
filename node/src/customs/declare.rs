//! A declaration checked and counted: the licence as presented (file or QR), every check
//! of 一证一关, exporter, commodity, validity, uses and quantity, and each step
//! (预核扣 → 实核注, cancel, adjust) through the group commit.

use super::*;

impl Customs {
    /// Checks a declaration item and, when it passes and `check_only` is not set,
    /// reserves its quantity (预核扣). A refused check changes nothing; a passed one is
    /// durable before the answer. The same declaration item again is answered with its
    /// state and reserves nothing more.
    pub fn declare(&self, input: &DeclarationInput) -> Result<CheckOutcome, CustomsError> {
        if !valid_declaration_no(input.declaration_no.trim()) {
            return Err(bad("declaration_no", "must be the 18 digits of a 报关单号"));
        }
        if !(1..=999).contains(&input.item) {
            return Err(bad("item", "must be 1–999"));
        }
        let q = input.quantity.trim();
        if !valid_quantity(q) {
            return Err(bad(
                "quantity",
                "must be a plain decimal number, at most 6 decimals",
            ));
        }
        if input.exporter.trim().is_empty() {
            return Err(bad("exporter", "is required (USCC or customs code)"));
        }
        let code = input.commodity_code.trim();
        if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("commodity_code", "must be a 10-digit 商品编码"));
        }
        let (licence, file) = self.presented(input)?;
        let declared = Declared {
            exporter: input.exporter.trim().to_owned(),
            commodity_code: code.to_owned(),
            quantity: Decimal::from_str(q).map_err(|e| bad("quantity", e.to_string()))?,
        };
        let licence = match licence {
            Ok(l) => l,
            Err(reason) => return Ok(refused(&input.licence_no, vec![reason])),
        };
        let standing = self.standing_of(&licence)?;
        let job = Job::Reserve {
            declaration_no: input.declaration_no.trim().to_owned(),
            item: input.item,
            licence: Box::new(licence),
            file,
            declared,
            standing,
            check_only: input.check_only,
        };
        self.group.run(job, |jobs| self.apply(jobs))?
    }

    /// The licence a declaration presents: the file (as hexadecimal, or the text of its QR
    /// code), verified under the key chain; or the one this node already holds under its
    /// number or under the reference a QR code gives.
    #[allow(clippy::type_complexity)]
    pub(super) fn presented(
        &self,
        input: &DeclarationInput,
    ) -> Result<(Result<Licence, Reason>, Vec<u8>), CustomsError> {
        let text = input.licence.trim();
        let mut no = input.licence_no.trim().to_owned();
        let qr = if text.starts_with("EXLIC-") {
            Some(QrPayload::parse(text).map_err(|e| bad("licence", e.to_string()))?)
        } else {
            None
        };
        let file = match &qr {
            Some(QrPayload::Full(f)) => Some(f.clone()),
            Some(QrPayload::Ref { licence_no, .. }) => {
                if no.is_empty() {
                    no.clone_from(licence_no);
                } else if no != *licence_no {
                    return Err(bad(
                        "licence_no",
                        format!("the QR code names licence {licence_no}, not {no}"),
                    ));
                }
                None
            }
            None if text.is_empty() => None,
            None => Some(
                hex::decode(text)
                    .map_err(|_| bad("licence", "must be the e-licence file as hexadecimal"))?,
            ),
        };
        let Some(file) = file else {
            if no.is_empty() {
                return Err(bad(
                    "licence",
                    "give the e-licence file, or the 许可证号 of one this node holds",
                ));
            }
            let held = licences::file(&self.store.read()?, &no)?
                .filter(|f| qr.as_ref().is_none_or(|r| r.matches(f)));
            return Ok(match held {
                Some(f) => (
                    Licence::verify(&f, &self.trust_for(&f)).map_err(signature_reason),
                    Vec::new(),
                ),
                None => (
                    Err(Reason {
                        code: "unknown_licence".into(),
                        field: "licence_no".into(),
                        message: format!(
                            "this node holds no licence {no} (or not the copy the QR code \
                             names): present the e-licence file"
                        ),
                    }),
                    Vec::new(),
                ),
            });
        };
        let verified = Licence::verify(&file, &self.trust_for(&file)).map_err(signature_reason);
        if let Ok(l) = &verified
            && !no.is_empty()
            && l.licence_no != no
        {
            return Err(bad(
                "licence_no",
                format!("the file is licence {}, not {no}", l.licence_no),
            ));
        }
        Ok((verified, file))
    }

    /// A later step of a reserved item: 实核注 (`Confirm`, with the released quantity or the
    /// reserved one), `Cancel`, or `Adjust` after clearance. Durable before the answer; a
    /// repeated step changes nothing.
    pub fn step(
        &self,
        declaration_no: &str,
        item: u32,
        step: Step,
        quantity: &str,
    ) -> Result<CheckOutcome, CustomsError> {
        if step == Step::Reserve {
            return Err(bad("step", "a reservation is made by the check"));
        }
        let q = quantity.trim();
        let quantity = if q.is_empty() {
            if step == Step::Adjust {
                return Err(bad("quantity", "an amendment gives the new quantity"));
            }
            None
        } else if valid_quantity(q) {
            Some(Decimal::from_str(q).map_err(|e| bad("quantity", e.to_string()))?)
        } else {
            return Err(bad(
                "quantity",
                "must be a plain decimal number, at most 6 decimals",
            ));
        };
        let job = Job::Later {
            declaration_no: declaration_no.trim().to_owned(),
            item,
            step,
            quantity,
        };
        self.group.run(job, |jobs| self.apply(jobs))?
    }

    /// Applies a batch of steps in one write transaction with one durable commit.
    pub(super) fn apply(&self, jobs: Vec<Job>) -> Vec<JobResult> {
        let n = jobs.len();
        let run = || -> Result<Vec<JobResult>, StoreError> {
            let w = self.store.write()?;
            let mut next = usage::ledger_last(&w)? + 1;
            let mut out = Vec::with_capacity(n);
            let today = self.today();
            for job in jobs {
                match self.apply_one(&w, job, &mut next, &today) {
                    // A storage failure fails the batch: nothing of it is committed.
                    Err(CustomsError::Store(e)) => return Err(e),
                    r => out.push(r),
                }
            }
            w.commit()?;
            Ok(out)
        };
        match run() {
            Ok(out) => out,
            Err(e) => (0..n)
                .map(|_| Err(CustomsError::Store(StoreError::batch(&e))))
                .collect(),
        }
    }

    pub(super) fn apply_one(
        &self,
        w: &WriteBatch<'_>,
        job: Job,
        next: &mut u64,
        today: &str,
    ) -> JobResult {
        match job {
            Job::Reserve {
                declaration_no,
                item,
                licence,
                file,
                declared,
                standing,
                check_only,
            } => {
                let l = &*licence;
                if let Some(prev) = usage::licence_of(w, &declaration_no, item)? {
                    if prev != l.licence_no {
                        return Err(CustomsError::WrongState {
                            field: "declaration_no".into(),
                            message: format!(
                                "item {item} of declaration {declaration_no} already uses licence {prev}"
                            ),
                        });
                    }
                    return self.outcome(w, l, standing, Vec::new(), &declaration_no, item);
                }
                let counted = usage::counted(w, &l.licence_no)?;
                let reasons = policy::check(
                    &policy::Facts {
                        licence: l,
                        standing: standing.0,
                        district: self.district(),
                        today,
                        counted,
                        overfill_percent: self.overfill(l),
                    },
                    &declared,
                );
                if !reasons.is_empty() || check_only {
                    return Ok(self.outcome_with(l, standing, reasons, counted, ""));
                }
                if !file.is_empty() && licences::file(w, &l.licence_no)?.is_none() {
                    licences::put(w, &l.licence_no, &file)?;
                }
                let it = Item {
                    licence_no: l.licence_no.clone(),
                    state: ItemState::Reserved,
                    quantity: declared.quantity,
                    at_ms: self.now_ms(),
                };
                usage::put_licence_of(w, &declaration_no, item, &l.licence_no)?;
                self.record(w, &declaration_no, item, Step::Reserve, &it, next)?;
                let after = Counted {
                    uses: counted.uses + 1,
                    quantity: counted.quantity + it.quantity,
                };
                Ok(self.outcome_with(l, standing, Vec::new(), after, "reserved"))
            }
            Job::Later {
                declaration_no,
                item,
                step,
                quantity,
            } => {
                let no = usage::licence_of(w, &declaration_no, item)?.ok_or_else(|| {
                    CustomsError::NotFound {
                        field: "declaration_no".into(),
                        message: format!(
                            "no reservation for item {item} of declaration {declaration_no}"
                        ),
                    }
                })?;
                let l = licences::get(w, &no)?.ok_or(CustomsError::NotFound {
                    field: "licence_no".into(),
                    message: format!("licence {no} is not held here"),
                })?;
                let (_, mut it) =
                    usage::item(w, &no, &declaration_no, item)?.ok_or(CustomsError::NotFound {
                        field: "declaration_no".into(),
                        message: "the item is not recorded".into(),
                    })?;
                let ceiling = policy::ceiling(&l, self.overfill(&l));
                let room = policy::room_besides(ceiling, usage::counted(w, &no)?, &it);
                let wrong = |e: policy::StepError| match e {
                    policy::StepError::WrongState { .. } => CustomsError::WrongState {
                        field: "step".into(),
                        message: e.to_string(),
                    },
                    _ => bad("quantity", e.to_string()),
                };
                let q = quantity.unwrap_or(it.quantity);
                let (changed, state) = match step {
                    Step::Confirm => (
                        policy::confirm(&it, q, room).map_err(wrong)?,
                        ItemState::Confirmed,
                    ),
                    Step::Cancel => (policy::cancel(&it).map_err(wrong)?, ItemState::Cancelled),
                    Step::Adjust => (
                        policy::adjust(&it, q, room).map_err(wrong)?,
                        ItemState::Confirmed,
                    ),
                    Step::Reserve => unreachable!("refused in step()"),
                };
                if changed {
                    it.state = state;
                    if step != Step::Cancel {
                        it.quantity = q;
                    }
                    it.at_ms = self.now_ms();
                    self.record(w, &declaration_no, item, step, &it, next)?;
                }
                let standing = self.standing_in(w, &l, today)?;
                self.outcome(w, &l, standing, Vec::new(), &declaration_no, item)
            }
        }
    }

    /// Stores the item and appends its signed ledger entry.
    pub(super) fn record(
        &self,
        w: &WriteBatch<'_>,
        declaration_no: &str,
        item: u32,
        step: Step,
        it: &Item,
        next: &mut u64,
    ) -> Result<(), CustomsError> {
        usage::put_item(w, declaration_no, item, self.district(), it)?;
        let entry = UsageEntry {
            customs_key: self.public_key(),
            district: self.district().to_owned(),
            seq: *next,
            licence_no: it.licence_no.clone(),
            declaration_no: declaration_no.to_owned(),
            item,
            step,
            quantity: if step == Step::Cancel {
                "0".into()
            } else {
                it.quantity.normalize().to_string()
            },
            at_ms: it.at_ms,
        };
        usage::ledger_put(w, *next, &entry.sign(&self.key))?;
        self.floor_ms.fetch_max(it.at_ms, Ordering::Relaxed);
        *next += 1;
        Ok(())
    }

    pub(super) fn overfill(&self, l: &Licence) -> u8 {
        self.reference.overfill(l.quota_year, &l.commodity[0])
    }

    pub(super) fn outcome(
        &self,
        w: &WriteBatch<'_>,
        l: &Licence,
        standing: (State, i64),
        reasons: Vec<Reason>,
        declaration_no: &str,
        item: u32,
    ) -> JobResult {
        let counted: Counted = usage::counted(w, &l.licence_no)?;
        let state = usage::item(w, &l.licence_no, declaration_no, item)?
            .map(|(_, it)| it.state.code())
            .unwrap_or_default();
        Ok(self.outcome_with(l, standing, reasons, counted, state))
    }

    /// The answer to a step, from what the step knows: the licence's counted usage after
    /// it and the item's state (empty: nothing reserved).
    pub(super) fn outcome_with(
        &self,
        l: &Licence,
        standing: (State, i64),
        reasons: Vec<Reason>,
        counted: Counted,
        state: &str,
    ) -> CheckOutcome {
        let ceiling = policy::ceiling(l, self.overfill(l));
        CheckOutcome {
            passed: reasons.is_empty(),
            reasons,
            licence_no: l.licence_no.clone(),
            standing: standing.0.code().into(),
            standing_as_of_ms: standing.1,
            state: state.to_owned(),
            uses: counted.uses,
            max_uses: policy::max_uses(l),
            used_quantity: counted.quantity.normalize().to_string(),
            remaining_quantity: (ceiling - counted.quantity)
                .max(Decimal::ZERO)
                .normalize()
                .to_string(),
            unit: l.lines.first().map(|x| x.unit.clone()).unwrap_or_default(),
        }
    }
}

pub(super) fn signature_reason(e: LicenceError) -> Reason {
    Reason {
        code: "signature".into(),
        field: "licence".into(),
        message: format!("the e-licence does not verify under the office's keys: {e}"),
    }
}

pub(super) fn refused(licence_no: &str, reasons: Vec<Reason>) -> CheckOutcome {
    CheckOutcome {
        passed: false,
        reasons,
        licence_no: licence_no.trim().to_owned(),
        standing: String::new(),
        standing_as_of_ms: 0,
        state: String::new(),
        uses: 0,
        max_uses: 0,
        used_quantity: String::new(),
        remaining_quantity: String::new(),
        unit: String::new(),
    }
}
