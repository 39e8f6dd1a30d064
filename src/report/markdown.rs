//! STUB
pub fn render(_r: &crate::audit::AuditReport, _o: &super::RenderOptions) -> String {
    String::new()
}
