import PDFDocument from "pdfkit";

export interface ControlSummary {
  id: string;
  title: string;
  status: "evidenced" | "attention" | "no evidence";
  evidenceCount: number;
}

export interface PackSummary {
  organization: { id: string; name: string };
  framework: { id: string; name: string };
  period: { from: string; to: string };
  generatedAt: string;
  keyId: string;
  controls: ControlSummary[];
}

/** The pack's human summary: control → status → evidence count, with organisation, period and time. */
export function renderSummaryPdf(s: PackSummary): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: "A4",
      margin: 50,
      info: {
        Title: `${s.framework.name} evidence: ${s.organization.name}`,
        Author: "PatchPilot",
        CreationDate: new Date(s.generatedAt),
      },
    });
    const chunks: Buffer[] = [];
    doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);

    doc.fontSize(18).text(`${s.framework.name}: evidence summary`);
    doc.moveDown(0.5).fontSize(10);
    doc.text(`Organisation: ${s.organization.name} (${s.organization.id})`);
    doc.text(`Period: ${s.period.from} to ${s.period.to}`);
    doc.text(`Generated: ${s.generatedAt}`);
    doc.text(`Signed with evidence key ${s.keyId} (Ed25519); check with: patchpilot evidence verify`);
    doc.moveDown();
    const columns = [50, 130, 400, 480];
    const header = (y: number) => {
      doc.font("Helvetica-Bold");
      doc.text("Control", columns[0], y);
      doc.text("Title", columns[1], y);
      doc.text("Status", columns[2], y);
      doc.text("Evidence", columns[3], y);
      doc.font("Helvetica");
    };
    header(doc.y);
    doc.moveDown(0.5);
    for (const c of s.controls) {
      if (doc.y > 760) {
        doc.addPage();
        header(50);
        doc.moveDown(0.5);
      }
      const y = doc.y;
      doc.text(c.id, columns[0], y, { width: 75 });
      doc.text(c.title, columns[1], y, { width: 260 });
      const after = doc.y;
      doc.text(c.status, columns[2], y, { width: 75 });
      doc.text(String(c.evidenceCount), columns[3], y, { width: 60 });
      doc.y = Math.max(after, doc.y) + 4;
    }
    doc.moveDown();
    doc.text(
      "Each control's rows are in controls/<control>.csv with their source table, row id, query and the SHA-256 of the row. " +
        "manifest.json lists every file with its SHA-256 and is signed (manifest.sig); the whole archive is signed in its ZIP comment.",
      50,
      doc.y,
      { width: 495 },
    );
    doc.end();
  });
}
