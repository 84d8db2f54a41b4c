//! No time bomb: the whole path — enrolment, 申请表号 from the office's block, seal, 上报,
//! the office's re-check, both reviews and the licence on the enterprise — across real
//! nodes whose clocks start on 2027-12-15 (next-year sealing: 2028 has no catalogue of its
//! own yet, so 2027's stays in force), 2028-01-02 and 2031-06-30, all past the built-in
//! catalogues (2024–2027). Licences are numbered by quota year and 申请表号 blocks by the
//! year they were handed out.

use exlic_tests::*;

#[test]
fn the_cross_node_path_passes_past_the_years_the_data_was_built_for() {
    let cases: [(&str, &[i32]); 3] = [
        ("2027-12-15T10:00:00+08:00", &[2027, 2028]),
        ("2028-01-02T09:00:00+08:00", &[2028]),
        ("2031-06-30T15:00:00+08:00", &[2031]),
    ];
    for (start, years) in cases {
        set_node_clock(Some(start));
        let clock_yy = &start[2..4];
        let root = tempfile::tempdir().unwrap();
        let (adir, edir) = enrolled_pair(root.path());
        let auth = Node::start(&adir);
        let ent = Node::start(&edir);
        let (c, officer, chief) = (ent.client(), auth.client_as("wang"), auth.client_as("li"));
        runtime().block_on(async {
            for &year in years {
                let mut form = full_form_for(year);
                if year.to_string() != this_year() {
                    form.remarks = "有效期自1月1日起".into();
                }
                let licence_no = issue_form(&c, &officer, &chief, &form).await;
                assert!(
                    licence_no.starts_with(&format!("{:02}AA", year % 100)),
                    "{start}: a {year} licence numbered {licence_no}"
                );
                let ids = all_ids(&c).await;
                let issued = c.application(*ids.first().unwrap()).await.unwrap();
                let app_no = issued.application_no.unwrap();
                assert!(
                    app_no.starts_with(&format!("{clock_yy}90")),
                    "{start}: 申请表号 {app_no} is not from this year's block of office AA (90)"
                );
            }
        });
        auth.stop();
        ent.stop();
    }
    set_node_clock(None);
}
