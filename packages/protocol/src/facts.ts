import Type, { type Static } from "typebox";

const PRINTABLE = "^[^\\u0000-\\u001f\\u007f]*$";
const text = (max: number, min = 1) => Type.String({ minLength: min, maxLength: max, pattern: PRINTABLE });

export const OS_FAMILIES = ["linux", "windows", "macos"] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];

/**
 * Whether something other than PatchPilot installs updates on the device (unattended-upgrades,
 * Windows Update automatic installs, macOS automatic updates), as the agent finds it.
 */
export const PatchSource = Type.Object(
  {
    /** The OS's own automatic updater, e.g. `unattended-upgrades`, `dnf-automatic`, `windows-update`. */
    mechanism: text(64),
    /** true: it installs updates by itself; false: disabled or download-only; null: could not tell. */
    automaticInstall: Type.Union([Type.Boolean(), Type.Null()]),
    detail: Type.Optional(text(256)),
  },
  { additionalProperties: false },
);
export type PatchSource = Static<typeof PatchSource>;

/** What a device says about itself on every check-in. */
export const DeviceFacts = Type.Object(
  {
    hostname: text(253),
    os: Type.Object(
      {
        family: Type.Enum(OS_FAMILIES),
        /** `Debian GNU/Linux`, `Windows 11 Pro`, `macOS`. */
        name: text(128),
        /** `12`, `22.04`, `10.0.22631`, `14.4.1`. */
        version: text(64),
        /** Build or point release: `12.5`, UBR `22631.3296`, `23E224`; empty when none. */
        build: text(64, 0),
        /** The distribution release inventory entries are compared in: `debian:12`. */
        release: text(64),
      },
      { additionalProperties: false },
    ),
    kernel: text(128),
    arch: text(32),
    uptimeSeconds: Type.Integer({ minimum: 0, maximum: 100 * 365 * 86400 }),
    rebootRequired: Type.Boolean(),
    agentVersion: text(32),
    patchSources: Type.Array(PatchSource, { maxItems: 8 }),
  },
  { additionalProperties: false },
);
export type DeviceFacts = Static<typeof DeviceFacts>;

/**
 * A stable identifier of the machine: /etc/machine-id, the Windows MachineGuid, the macOS
 * IOPlatformUUID. It recognises a reinstalled agent on the same machine (docs/agent.md).
 */
export const HardwareId = Type.String({ minLength: 8, maxLength: 128, pattern: "^[A-Za-z0-9._:-]+$" });
